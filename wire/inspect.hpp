#pragma once
// The wire format of ra's own types: every CAF 0.17 `inspect` overload for a type that
// crosses a process boundary (peer RPCs, log entries, the vocabulary inside them, client
// reply fields). The types themselves live in libra/ and know nothing of CAF; this header
// makes them serializable (namespace ra, so CAF finds the overloads by ADL).
//
// Include it wherever such a type is serialized: the actor shell (actors/messages.hpp),
// the WAL actor, and the machine codec (libra/codec.hpp), so that machine commands and
// state may hold pids, server ids and bytes. It is the only place that defines these
// overloads (test/wire/single_home.sh checks it): in particular there must be exactly one
// inspect overload for shared_bytes in the program.
//
// Every type announced to CAF is listed in wire/announce.hpp, and test/wire/ round-trips
// each of them.

#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>

#include "libra/actions.hpp"
#include "libra/builtin_commands.hpp"
#include "libra/bytes.hpp"
#include "libra/cluster.hpp"
#include "libra/log_entry.hpp"
#include "libra/messages.hpp"
#include "libra/overview.hpp"
#include "libra/types.hpp"

namespace ra {

// -- vocabulary ---------------------------------------------------------------------------

template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, strong_u64<Tag>& x) {
  return f(x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_id& x) {
  return f(x.name, x.node);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pid& x) {
  return f(x.node, x.id);
}

/// shared_bytes is serialized as its byte vector, loaded into a temporary vector that a
/// load callback then moves into a fresh shared_bytes (shared_bytes is immutable, so it
/// cannot be filled in place).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (Inspector::writes_state) {
    std::vector<char> loaded;
    return f(loaded, caf::meta::load_callback([&]() -> caf::error {
               x = shared_bytes{std::move(loaded)};
               return caf::none;
             }));
  } else {
    // Saving and printing only read the bytes; CAF 0.17's inspect takes T& regardless.
    return f(const_cast<std::vector<char>&>(x.vec()));
  }
}

template <class F>
typename F::result_type inspect(F& f, member& x) {
  return f(x.id, x.kind, x.promote_at);
}

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
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(x.index, x.term, x.kind, x.system_time, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_meta& x) {
  return f(x.index, x.term, x.cluster, x.machine_version);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_error& x) {
  return f(x.code, x.leader);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_overview& x) {
  return f(x.id, x.next_index, x.match_index, x.sending_snapshot);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_overview& x) {
  return f(x.id, x.cluster_name, x.server_role, x.term, x.voted_for, x.leader, x.commit_index, x.last_applied,
           x.last_index, x.last_written_index, x.snapshot_index, x.effective_machine_version, x.members,
           x.stop_reason, x.has_peers, x.peers);
}

// -- peer RPCs ------------------------------------------------------------------------------

template <class F>
typename F::result_type inspect(F& f, append_entries_rpc& x) {
  return f(x.term, x.leader_id, x.leader_commit, x.prev_log_index, x.prev_log_term, x.entries);
}
template <class F>
typename F::result_type inspect(F& f, append_entries_reply& x) {
  return f(x.term, x.success, x.next_index, x.last_index, x.last_term, x.machine_version);
}
template <class F>
typename F::result_type inspect(F& f, pre_vote_rpc& x) {
  return f(x.term, x.candidate_id, x.last_log_index, x.last_log_term, x.token, x.machine_version);
}
template <class F>
typename F::result_type inspect(F& f, pre_vote_result& x) {
  return f(x.term, x.token, x.vote_granted);
}
template <class F>
typename F::result_type inspect(F& f, request_vote_rpc& x) {
  return f(x.term, x.candidate_id, x.last_log_index, x.last_log_term, x.leadership_transfer);
}
template <class F>
typename F::result_type inspect(F& f, request_vote_result& x) {
  return f(x.term, x.vote_granted);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, install_snapshot_rpc& x) {
  return f(x.term, x.leader_id, x.meta, x.chunk_no, x.last, x.data);
}
template <class F>
typename F::result_type inspect(F& f, install_snapshot_result& x) {
  return f(x.term, x.snapshot_index, x.chunk_no, x.last_index, x.last_term);
}
template <class F>
typename F::result_type inspect(F& f, heartbeat_rpc& x) {
  return f(x.term, x.leader_id, x.query_index);
}
template <class F>
typename F::result_type inspect(F& f, heartbeat_reply& x) {
  return f(x.term, x.query_index);
}
template <class F>
typename F::result_type inspect(F& f, timeout_now_rpc& x) {
  return f(x.term, x.leader_id);
}

}  // namespace ra
