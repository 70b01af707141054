#pragma once
// Messages between the actors of the runtime (server actors, the WAL, the segment writer,
// the public API's blocking callers), and announce_ra_types() which registers every
// serializable one with CAF so that a multi-process runtime can send them.
//
// Peer RPCs travel as (ra_peer_atom, server_id from, <rpc>), one message type per RPC
// (CAF 0.17 cannot serialize std::variant). Client requests use request/response; their
// replies are plain structs carrying an error code instead of a caf::error, so that the
// caller can tell "the request failed" (caf::error: timeout, actor down) from "Raft said
// no" (command_result::error, e.g. not_leader with a leader hint).
//
// A few local-only payloads (query functions and their std::any results, segment refs,
// snapshot-worker results) are marked CAF_ALLOW_UNSAFE_MESSAGE_TYPE: they never leave
// the process.

#include <any>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>

#include "libra/actions.hpp"
#include "libra/cluster.hpp"
#include "libra/log_store.hpp"
#include "libra/messages.hpp"
#include "segments/segment_set.hpp"
#include "wire/inspect.hpp"
#include "io/file.hpp"

// -- inspect overloads missing from libra/ (namespace ra for ADL) ----------------------
namespace ra {

/// cluster_config keeps its members private: saved as the member vector, loaded into a
/// temporary vector and rebuilt by a load callback.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_config& x) {
  if constexpr (Inspector::writes_state) {
    std::vector<member> loaded;
    return f(loaded, caf::meta::load_callback([&]() -> caf::error {
               x = cluster_config{std::move(loaded)};
               return caf::none;
             }));
  } else {
    return f(const_cast<std::vector<member>&>(x.members()));
  }
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_meta& x) {
  return f(x.index, x.term, x.cluster, x.machine_version);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, install_snapshot_rpc& x) {
  return f(x.term, x.leader_id, x.meta, x.chunk_no, x.last, x.data);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_error& x) {
  return f(x.code, x.leader);
}

}  // namespace ra

namespace ra::actors {

// -- atoms (at most 10 characters) -----------------------------------------------------
using peer_atom = caf::atom_constant<caf::atom("ra_peer")>;          ///< peer RPC
using command_atom = caf::atom_constant<caf::atom("ra_cmd")>;        ///< client command
using pipeline_atom = caf::atom_constant<caf::atom("ra_pipe")>;      ///< pipelined command
using applied_atom = caf::atom_constant<caf::atom("ra_applied")>;    ///< pipelined: applied batch
using rejected_atom = caf::atom_constant<caf::atom("ra_reject")>;    ///< pipelined: rejected
using query_atom = caf::atom_constant<caf::atom("ra_query")>;
using membership_atom = caf::atom_constant<caf::atom("ra_member")>;  ///< add/remove member
using members_atom = caf::atom_constant<caf::atom("ra_members")>;    ///< read the member list
using transfer_atom = caf::atom_constant<caf::atom("ra_xfer")>;
using election_atom = caf::atom_constant<caf::atom("ra_elect")>;
using overview_atom = caf::atom_constant<caf::atom("ra_ovw")>;
using ready_atom = caf::atom_constant<caf::atom("ra_ready")>;        ///< did the server start?
using timer_atom = caf::atom_constant<caf::atom("ra_timer")>;        ///< (kind, generation)
using flush_atom = caf::atom_constant<caf::atom("ra_flush")>;        ///< flush low-priority commands
using leader_down_atom = caf::atom_constant<caf::atom("ra_ldown")>;  ///< leader not resolvable
using segments_atom = caf::atom_constant<caf::atom("ra_segs")>;      ///< segment writer -> server
using snapshot_done_atom = caf::atom_constant<caf::atom("ra_snapd")>; ///< snapshot worker -> server
using machine_timer_atom = caf::atom_constant<caf::atom("ra_mtimer")>; ///< (name, generation): a machine timer
using machine_reply_atom = caf::atom_constant<caf::atom("ra_mreply")>; ///< reply_effect: (ra_mreply, shared_bytes)
using aux_atom = caf::atom_constant<caf::atom("ra_aux")>;              ///< (aux_atom, shared_bytes) -> command_result
using delete_cluster_atom = caf::atom_constant<caf::atom("ra_delete")>; ///< -> command_result
/// (wait_applied_atom, index_t) -> (ok_atom, index_t last_applied) once applied up to it.
using wait_applied_atom = caf::atom_constant<caf::atom("ra_waitap")>;

// -- client replies ----------------------------------------------------------------------

/// Reply to a command, membership change or leadership transfer (reply_action).
struct command_result {
  index_t index{0};
  term_t term{0};
  server_id leader;
  shared_bytes reply;
  bool failed = false;
  command_error error{error_code::not_leader, {}};  ///< meaningful only if failed
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_result& x) {
  return f(caf::meta::type_name("ra_command_result"), x.index, x.term, x.leader, x.reply, x.failed, x.error);
}

/// The member list as a server knows it, with its leader (empty if unknown).
struct members_result {
  std::vector<member> members;
  server_id leader;
  role server_role = role::follower;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, members_result& x) {
  return f(caf::meta::type_name("ra_members_result"), x.members, x.leader, x.server_role);
}

/// A batch of pipelined commands applied (Ra's {ra_event, Leader, {applied, [...]}}).
struct applied_batch {
  server_id leader;
  std::vector<std::pair<uint64_t, shared_bytes>> applied;  ///< (correlation, reply)
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, applied_batch& x) {
  return f(caf::meta::type_name("ra_applied_batch"), x.leader, x.applied);
}

// -- local-only payloads -----------------------------------------------------------------

/// A query function (runs inside the server; cannot cross processes).
struct query_msg {
  query_kind kind = query_kind::local;
  query_fn fn;
};
struct query_result {
  server_id leader;
  std::any value;
  bool failed = false;
  command_error error{error_code::not_leader, {}};
};
/// Segment writer -> server: these segment files now hold the server's entries.
struct segments_msg {
  std::vector<storage::segment_ref> refs;
};
/// Snapshot worker -> server: the result of a snapshot write.
struct snapshot_done_msg {
  storage::io_result<std::string> result{std::string{}};
};

/// Registers every serializable ra message type with CAF. Call before constructing the
/// actor_system (on every node, with the same names).
void announce_ra_types(caf::actor_system_config& cfg);

}  // namespace ra::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::query_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::query_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::segments_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ra::actors::snapshot_done_msg)
