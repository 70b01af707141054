#pragma once
// One Raft server = one stateful event-based CAF actor holding a ra::server and its
// durable_log. It turns messages and timer ticks into core events and executes the
// core's actions in order (see docs/runtime.md).
//
// The protocol is server_actor_interface below, a caf::typed_actor: every message form
// the server handles is listed there, and every role behaviour of server_actor.cpp must
// handle every one of them (CAF checks a typed behaviour against its interface at
// compile time), so this list cannot drift from the code. Why typed_actor: CAF 0.17's
// typed actors do all the shell needs (tried): become() between per-role typed
// behaviours, caf::skip from a typed handler (result<T>{caf::skip}) to postpone a
// request, typed response promises kept until the core answers, one-way and request
// forms side by side. Senders may hold a dynamically typed caf::actor for the same actor
// (the directory, node_link and the client API do; a remote server is an untyped proxy
// anyway): their messages are checked when they arrive, and one outside this list is
// answered with caf::sec::unexpected_message. A server_actor_handle is checked when the
// message is sent.
//
// Per role (gen_statem-like, as Ra's ra_server_proc): the shell's behaviour differs only
// in what it does with the *leader calls* (command, pipeline, leader/consistent query,
// membership, transfer, delete_cluster); everything else is one shared handler set, and
// the protocol decisions stay in the core. A leader takes leader calls; a follower
// passes them to the core, which redirects (not_leader + leader hint), or postpones
// them while it knows no leader; a candidate or pre_vote server postpones them until a
// leader is known. A postponed call is retried after each message the server handles
// and answered by the core (not_leader, no hint) once it has waited
// postpone_bound(config) without a leader; a caller whose own timeout ran out first
// gets its timeout, and the call's fate is then unknown, as with any timeout.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "actors/system_core.hpp"
#include "libra/server.hpp"
#include "wal/config_store.hpp"
#include "wal/wal_actor.hpp"

namespace ra::actors {
/// Self-message: a postponed leader call may have waited long enough (postpone_bound).
using postpone_atom = caf::atom_constant<caf::atom("ra_postp")>;
/// Self-message: retry the vote (seq) the meta writer failed to make durable.
using meta_retry_atom = caf::atom_constant<caf::atom("ra_mretry")>;
}  // namespace ra::actors

namespace ra::detail {

// clang-format off
using server_actor_interface = caf::typed_actor<
  // -- peer RPCs, one-way: (peer_atom, sender, rpc), one form per RPC of libra/messages.hpp
  caf::reacts_to<actors::peer_atom, server_id, append_entries_rpc>,
  caf::reacts_to<actors::peer_atom, server_id, append_entries_reply>,
  caf::reacts_to<actors::peer_atom, server_id, pre_vote_rpc>,
  caf::reacts_to<actors::peer_atom, server_id, pre_vote_result>,
  caf::reacts_to<actors::peer_atom, server_id, request_vote_rpc>,
  caf::reacts_to<actors::peer_atom, server_id, request_vote_result>,
  caf::reacts_to<actors::peer_atom, server_id, install_snapshot_rpc>,
  caf::reacts_to<actors::peer_atom, server_id, install_snapshot_result>,
  caf::reacts_to<actors::peer_atom, server_id, heartbeat_rpc>,
  caf::reacts_to<actors::peer_atom, server_id, heartbeat_reply>,
  caf::reacts_to<actors::peer_atom, server_id, timeout_now_rpc>,

  // -- leader calls: what the behaviours of the roles handle differently
  /// uint8 = reply_mode; noreply: no answer at all (send it one-way)
  caf::replies_to<actors::command_atom, shared_bytes, uint8_t>::with<actors::command_result>,
  /// (payload, correlation, uint8 command_priority, notify); `notify` gets
  /// (applied_atom, applied_batch) and (rejected_atom, uint64 correlation, command_error)
  caf::reacts_to<actors::pipeline_atom, shared_bytes, uint64_t, uint8_t, caf::actor>,
  /// local queries are answered by any member in any role
  caf::replies_to<actors::query_atom, actors::query_msg>::with<actors::query_result>,
  /// (uint8 query_kind, name, encoded argument): a query registered by name, from any node
  caf::replies_to<actors::named_query_atom, uint8_t, std::string, shared_bytes>::with<actors::named_query_result>,
  /// uint8 = membership_op
  caf::replies_to<actors::membership_atom, uint8_t, member>::with<actors::command_result>,
  caf::replies_to<actors::transfer_atom, server_id>::with<actors::command_result>,
  caf::replies_to<actors::delete_cluster_atom>::with<actors::command_result>,

  // -- client requests any member answers in any role
  caf::replies_to<actors::aux_atom, shared_bytes>::with<actors::command_result>,
  /// running, or why the server could not start (it then quits)
  caf::replies_to<actors::ready_atom>::with<actors::ready_result>,
  caf::replies_to<actors::election_atom>::with<caf::ok_atom>,
  caf::replies_to<actors::members_atom>::with<actors::members_result>,
  /// the member overview, typed (JSON only at the edge: actors/overview_json.hpp)
  caf::replies_to<actors::overview_atom>::with<actors::overview_result>,
  /// answered once last_applied >= index, with last_applied
  caf::replies_to<actors::wait_applied_atom, index_t>::with<caf::ok_atom, index_t>,

  // -- storage notifications (WAL actor, segment writer, snapshot worker)
  caf::reacts_to<storage::wal_written_atom, std::string, index_t, term_t>,
  caf::reacts_to<storage::wal_resend_atom, std::string, index_t>,
  caf::reacts_to<storage::wal_error_atom, std::string, std::string>,
  caf::reacts_to<actors::segments_atom, actors::segments_msg>,
  caf::reacts_to<actors::snapshot_done_atom, actors::snapshot_done_msg>,
  /// the meta writer (wal/meta_writer_actor.hpp): a vote (persist_meta) is durable, or not
  caf::reacts_to<storage::meta_durable_atom, uint64_t>,
  caf::reacts_to<storage::meta_failed_atom, uint64_t, std::string>,

  // -- failure detection (monitors, node_link's detector)
  caf::reacts_to<actors::leader_down_atom, server_id>,
  caf::reacts_to<actors::node_down_atom, std::string>,
  caf::reacts_to<actors::node_up_atom, std::string>,
  caf::reacts_to<actors::pid_resolved_atom, std::string, uint64_t, caf::actor>,
  caf::reacts_to<actors::pid_lost_atom, std::string, uint64_t>,

  // -- the server's own timers and self-messages
  /// (uint8 timer_kind, generation): stale generations are ignored
  caf::reacts_to<actors::timer_atom, uint8_t, uint64_t>,
  caf::reacts_to<actors::flush_atom>,
  /// (name, generation) of a machine timer effect
  caf::reacts_to<actors::machine_timer_atom, std::string, uint64_t>,
  caf::reacts_to<actors::postpone_atom>,
  caf::reacts_to<actors::meta_retry_atom, uint64_t>>;
// clang-format on

/// A statically checked handle to a server actor.
using server_actor_handle = server_actor_interface;

/// How long a leader call waits for a leader before the core answers it (not_leader
/// without a hint): the longest election timeout (Ra's long timeout, P + 10 B).
inline std::chrono::milliseconds postpone_bound(const server_config& c) {
  return std::chrono::milliseconds(c.detector_poll_ms + 10 * c.broadcast_time_ms);
}

/// Spawns the server actor. The log is opened (and the machine built) in the actor; ask
/// (ready_atom) to learn whether that worked. The actor registers itself in the
/// directory and removes itself on exit.
/// `wal_entries`: the server's entries still only in WAL files (restart while running).
/// Returned as a dynamically typed handle because the directory keeps those;
/// caf::actor_cast<server_actor_handle> gives the typed one.
caf::actor spawn_server_actor(std::shared_ptr<system_core> core, storage::persisted_server_config cfg,
                              std::vector<log_entry> wal_entries);

}  // namespace ra::detail
