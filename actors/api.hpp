#pragma once
// The public API (Ra's `ra` module), first slice. Every call blocks for at most its
// timeout and returns a ra::result (actors/result.hpp): a value, or an api_error saying
// why not. Nothing throws for expected failures (a not-running server, a refusal by Raft,
// a timeout).
//
// Calls that need the leader (commands, leader and consistent queries, membership
// changes) may be sent to any member: a `not_leader` answer is followed transparently to
// the leader it names (or retried after a short pause while no leader is known) until
// the timeout. Errors other than not_leader are returned as they are; note that
// `leadership_lost` means the command's fate is unknown (it may still commit), and
// api_errc::timeout likewise.
//
//   auto sys = ra::system::start(cfg);                        // result<unique_ptr<system>>
//   auto c = ra::start_cluster(**sys, "c1", "counter", ids);   // result<cluster_started>
//   auto r = ra::process_command<int64_t>(**sys, ids[0], int64_t{5});
//   auto q = ra::consistent_query<int64_t>(**sys, ids[0], [](const int64_t& s) { return s; });

#include <any>
#include <chrono>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/result.hpp"
#include "actors/system.hpp"
#include "libra/codec.hpp"
#include "libra/typed_machine.hpp"

namespace ra {

inline constexpr std::chrono::milliseconds default_timeout{5000};

// -- servers and clusters --------------------------------------------------------------

struct cluster_started {
  std::vector<server_id> started;
  std::vector<server_id> not_started;
  server_id leader;
};

/// Starts a new cluster of `ids` (all voters) running `machine` (a name registered in the
/// system), triggers an election on the first started server and waits for a leader.
/// Only ids on this system's node are started here (others are reported not_started).
/// Fails with cluster_not_formed if fewer than a majority started (the started ones are
/// then deleted again), or with timeout if no leader was elected in time.
result<cluster_started> start_cluster(system& sys, const std::string& cluster_name, const std::string& machine,
                                      const std::vector<server_id>& ids,
                                      std::chrono::milliseconds timeout = default_timeout,
                                      const std::string& machine_args = {});

/// Starts one new server (e.g. before add_member); it waits for a leader to contact it.
status start_server(system& sys, const std::string& cluster_name, const server_id& id, const std::string& machine,
                    const std::vector<member>& initial_members, const std::string& machine_args = {});
status stop_server(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// Restarts a stopped server from its stored config and its log (snapshot, segments, WAL).
status restart_server(system& sys, const server_id& id);
/// Makes the server enter pre_vote now (needed once for a brand-new cluster).
status trigger_election(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);

// -- commands ------------------------------------------------------------------------------

struct raw_reply {
  shared_bytes reply;  ///< the machine's encoded reply
  server_id leader;
  index_t index{0};
  term_t term{0};
};

template <class Reply>
struct command_reply {
  Reply reply;
  server_id leader;
  index_t index{0};
};

/// Appends an encoded command through the leader and waits until it is applied.
result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command,
                                      std::chrono::milliseconds timeout = default_timeout);

/// process_command<Reply>(sys, id, cmd): encodes `cmd`, waits for the machine's reply.
template <class Reply, class Cmd>
result<command_reply<Reply>> process_command(system& sys, const server_id& id, const Cmd& cmd,
                                             std::chrono::milliseconds timeout = default_timeout) {
  auto raw = process_command_raw(sys, id, encode(cmd), timeout);
  if (!raw) return *raw.error;
  auto reply = decode<Reply>(raw->reply);
  if (!reply) return make_api_error(api_errc::bad_reply, "reply does not decode to the expected type");
  return command_reply<Reply>{std::move(*reply), raw->leader, raw->index};
}

/// Ra's pipeline_command: one-way. `notify` receives (applied_atom, actors::applied_batch)
/// with the correlations applied (batched, in log order) and (rejected_atom, uint64_t
/// correlation, command_error) for refusals (e.g. not_leader: resend to the leader).
/// Returns noproc if the server is not running (nothing was sent).
status pipeline_command_raw(system& sys, const server_id& id, shared_bytes command, uint64_t correlation,
                            const caf::actor& notify, command_priority priority = command_priority::normal);
template <class Cmd>
status pipeline_command(system& sys, const server_id& id, const Cmd& cmd, uint64_t correlation,
                        const caf::actor& notify, command_priority priority = command_priority::normal) {
  return pipeline_command_raw(sys, id, encode(cmd), correlation, notify, priority);
}

// -- queries ---------------------------------------------------------------------------------

template <class R>
struct query_reply {
  R value;
  server_id leader;
};

/// Runs `fn` on server `id` (local: no redirect) or on the leader (leader / consistent:
/// not_leader is followed). The result is the query function's std::any.
result<query_reply<std::any>> query_raw(system& sys, const server_id& id, query_kind kind, query_fn fn,
                                        std::chrono::milliseconds timeout = default_timeout);

namespace detail {
template <class State, class F>
auto typed_query(system& sys, const server_id& id, query_kind kind, F f, std::chrono::milliseconds timeout)
  -> result<query_reply<std::decay_t<std::invoke_result_t<F, const State&>>>> {
  using R = std::decay_t<std::invoke_result_t<F, const State&>>;
  auto raw = query_raw(sys, id, kind, make_query<State>(std::move(f)), timeout);
  if (!raw) return *raw.error;
  if (auto* v = std::any_cast<R>(&raw->value)) return query_reply<R>{std::move(*v), raw->leader};
  return make_api_error(api_errc::bad_reply, "query result has an unexpected type");
}
}  // namespace detail

/// Reads the state of server `id` as it is now (possibly stale). State is the machine's
/// state_type; f: const State& -> R.
template <class State, class F>
auto local_query(system& sys, const server_id& id, F f, std::chrono::milliseconds timeout = default_timeout) {
  return detail::typed_query<State>(sys, id, query_kind::local, std::move(f), timeout);
}
/// Reads the leader's state (no check that it is still the leader).
template <class State, class F>
auto leader_query(system& sys, const server_id& id, F f, std::chrono::milliseconds timeout = default_timeout) {
  return detail::typed_query<State>(sys, id, query_kind::leader, std::move(f), timeout);
}
/// Linearizable read: the leader confirms its leadership with a quorum and evaluates
/// once it applied everything committed when the query arrived.
template <class State, class F>
auto consistent_query(system& sys, const server_id& id, F f, std::chrono::milliseconds timeout = default_timeout) {
  return detail::typed_query<State>(sys, id, query_kind::consistent, std::move(f), timeout);
}

// -- membership ------------------------------------------------------------------------------

struct members_info {
  std::vector<member> members;
  server_id leader;  ///< empty if unknown
};

/// The members as the leader sees them (as `id` sees them if it knows no leader).
result<members_info> members(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// Adds a member (start its server first with start_server). Returns the leader. Like
/// Ra, returns once the change is appended and applied by the leader.
result<server_id> add_member(system& sys, const server_id& id, const member& new_member,
                             std::chrono::milliseconds timeout = default_timeout);
result<server_id> remove_member(system& sys, const server_id& id, const server_id& target,
                                std::chrono::milliseconds timeout = default_timeout);
/// Asks leader `id` to hand leadership to `target` (errors: already_leader,
/// unknown_member, non_voter, not_up_to_date). Returns once the transfer was started.
status transfer_leadership(system& sys, const server_id& id, const server_id& target,
                           std::chrono::milliseconds timeout = default_timeout);

/// The system overview (Ra's overview/1): servers, their uids, roles and member overviews.
nlohmann::json overview(system& sys, std::chrono::milliseconds timeout = default_timeout);

}  // namespace ra
