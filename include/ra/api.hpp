#pragma once
// The public blocking API (Ra's `ra` module). Every call blocks for at most its timeout
// and returns a ra::result (ra/result.hpp): a value, or an api_error saying why not.
// Nothing throws for expected failures (a not-running server, a refusal by Raft, a
// timeout).
//
// Calls that need the leader (commands, leader and consistent queries, membership
// changes) may be sent to any member: a `not_leader` answer is followed transparently to
// the leader it names (or retried after a short pause while no leader is known) until
// the timeout. Errors other than not_leader are returned as they are; note that
// `leadership_lost` means the command's fate is unknown (it may still commit), and
// api_errc::timeout likewise.
//
// Each call that messages servers is the async call of the same name
// (ra/async_api.hpp) run to completion: the async API is the implementation, these
// calls wait for it (actors/api/blocking_call.hpp). Sections by topic: lifecycle,
// commands, queries, membership, observation (implemented in actors/api/<topic>.cpp).
//
//   auto sys = ra::system::start(cfg);                        // result<unique_ptr<system>>
//   auto c = ra::start_cluster(**sys, "c1", "counter", ids);   // result<cluster_started>
//   auto r = ra::process_command<int64_t>(**sys, ids[0], int64_t{5});
//   auto q = ra::consistent_query<int64_t>(**sys, ids[0], [](const int64_t& s) { return s; });

#include <any>
#include <chrono>
#include <concepts>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor.hpp>
#include <nlohmann/json.hpp>

#include "ra/key_metrics.hpp"
#include "ra/result.hpp"
#include "ra/system.hpp"
#include "ra/codec.hpp"
#include "ra/typed_machine.hpp"

namespace ra {

/// How long a call waits when not told otherwise (Ra's default of 5 s).
inline constexpr std::chrono::milliseconds default_timeout{5000};

// -- lifecycle: servers and clusters ----------------------------------------------------------

/// Ra's {ok, Started, NotStarted} (and the leader that was elected).
struct cluster_started {
  std::vector<server_id> started;      ///< the members running now
  std::vector<server_id> not_started;  ///< the members that did not start
  server_id leader;                    ///< the leader elected
  /// Why each of not_started did not start (same order as not_started).
  std::vector<api_error> not_started_errors;
};

/// Starts a new cluster of `ids` (all voters) running `machine` (a name registered on
/// every member's node), triggers an election on a started server and waits for a
/// leader. Servers of this node are started here; those of other nodes are started on
/// their own nodes through the node actors (distributed systems; the nodes must be
/// connected), which must have `machine` registered. Members that did not start are
/// reported in not_started, with why. Fails with cluster_not_formed if fewer than a
/// majority started (the started ones are then deleted again), or with timeout if no
/// leader was elected in time.
result<cluster_started> start_cluster(system& sys, const std::string& cluster_name, const std::string& machine,
                                      const std::vector<server_id>& ids,
                                      std::chrono::milliseconds timeout = default_timeout,
                                      const std::string& machine_args = {});

/// Starts one new server (e.g. before add_member); it waits for a leader to contact it.
status start_server(system& sys, const std::string& cluster_name, const server_id& id, const std::string& machine,
                    const std::vector<member>& initial_members, const std::string& machine_args = {});
/// Stops a running server of this node; its data is kept (restart_server brings it back).
status stop_server(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// Restarts a stopped server from its stored config and its log (snapshot, segments, WAL).
status restart_server(system& sys, const server_id& id);
/// Makes the server enter pre_vote now (needed once for a brand-new cluster).
status trigger_election(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);

/// Restarts the cluster's servers (on their own nodes, through the node actors for
/// other nodes) if any member's node knows its server (from disk), else starts a new
/// cluster (start_cluster). Members already running count as started; unknown or
/// unreachable ones are reported not_started. Waits for a leader either way.
result<cluster_started> start_or_restart_cluster(system& sys, const std::string& cluster_name,
                                                 const std::string& machine, const std::vector<server_id>& ids,
                                                 std::chrono::milliseconds timeout = default_timeout,
                                                 const std::string& machine_args = {});
/// Starts, restarts, stops or deletes one server on its own node: this system's
/// start_server / restart_server / stop_server / force_delete_server for a server of this
/// node, else a request to its node through the node actors (distributed systems).
status start_server_on_node(system& sys, const std::string& cluster_name, const server_id& id,
                            const std::string& machine, const std::vector<member>& initial_members,
                            const std::string& machine_args = {}, std::chrono::milliseconds timeout = default_timeout);
/// restart_server on `id`'s node (see start_server_on_node).
status restart_server_on_node(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// stop_server on `id`'s node (see start_server_on_node).
status stop_server_on_node(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// force_delete_server on `id`'s node (see start_server_on_node).
status delete_server_on_node(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// Whether `id`'s node knows the server (its data is there) and whether it runs.
struct server_presence {
  bool known = false;    ///< the node has the server's data
  bool running = false;  ///< the server runs
};
/// Asks `id`'s node (this one, or another through the node actors) about the server.
result<server_presence> server_status_on_node(system& sys, const server_id& id,
                                              std::chrono::milliseconds timeout = default_timeout);
/// Stops a server if it runs and deletes its data (log, snapshots, config, metadata).
/// The other members still count it: remove it from the cluster first (or use
/// leave_and_delete_server).
status force_delete_server(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// Ra's delete_cluster: commits an end-of-life entry through the leader (any member
/// named in `ids` may be asked); every member that applies it stops and deletes its data.
/// Returns once the leader applied it and the members in `ids` are gone: those of this
/// node, and those of other connected nodes (asked through the node actors). A member
/// that is known but not running on a reachable node when the call starts is deleted
/// there once the entry committed (it would not apply it); one on a node that is down deletes itself when it learns the entry
/// after a restart (the call does not wait for it).
status delete_cluster(system& sys, const std::vector<server_id>& ids,
                      std::chrono::milliseconds timeout = default_timeout);
/// Removes `target` from its cluster (asking `id`, any member) and stops it (data kept).
status leave_and_terminate(system& sys, const server_id& id, const server_id& target,
                           std::chrono::milliseconds timeout = default_timeout);
/// Removes `target` from its cluster (asking `id`) and deletes it with its data.
status leave_and_delete_server(system& sys, const server_id& id, const server_id& target,
                               std::chrono::milliseconds timeout = default_timeout);

// -- commands ------------------------------------------------------------------------------

/// The answer to a command, its reply still encoded.
struct raw_reply {
  shared_bytes reply;  ///< the machine's encoded reply
  server_id leader;    ///< the leader that appended the command
  index_t index{0};    ///< the command's log index
  term_t term{0};      ///< the term it was appended in
};

/// The answer to a command: the machine's reply, decoded.
template <class Reply>
struct command_reply {
  Reply reply;       ///< the machine's reply
  server_id leader;  ///< the leader that appended the command
  index_t index{0};  ///< the command's log index
};

namespace detail {
// The typed commands' decoding, shared by the blocking and the async API.

/// A process_command result as Reply (has_reply false: no machine reply in this mode).
template <class Reply>
result<command_reply<Reply>> to_command_reply(result<raw_reply> raw, bool has_reply) {
  if (!raw) return std::move(raw.error());
  if (!has_reply) return command_reply<Reply>{Reply{}, raw->leader, raw->index};
  auto reply = decode<Reply>(raw->reply);
  if (!reply) return make_api_error(api_errc::bad_reply, "reply does not decode to the expected type");
  return command_reply<Reply>{std::move(*reply), raw->leader, raw->index};
}

/// An aux_command result as Reply.
template <class Reply>
result<Reply> to_aux_reply(result<shared_bytes> raw) {
  if (!raw) return std::move(raw.error());
  auto reply = decode<Reply>(*raw);
  if (!reply) return make_api_error(api_errc::bad_reply, "aux reply does not decode to the expected type");
  return std::move(*reply);
}

}  // namespace detail

/// Where the reply of an await_consensus command comes from (Ra's reply_from): the leader
/// (default), the member the call was addressed to (`local`: it must be on this node), or a
/// given member: the call returns once that member has applied the command too, so a
/// following local_query on it sees the command's effect.
enum class reply_from : uint8_t { leader, local, member };

/// How process_command is answered (Ra's command options).
struct command_options {
  /// await_consensus (default): the machine's reply once applied. after_log_append: once
  /// the leader appended it (reply empty; the command may still fail to commit).
  /// noreply: sent to the addressed member only and not awaited (no redirect: if it is
  /// not the leader the command is dropped). notify: use pipeline_command instead.
  reply_mode mode = reply_mode::await_consensus;
  reply_from from = reply_from::leader;  ///< which member's apply the reply waits for
  server_id reply_member;  ///< for reply_from::member
};

/// Appends an encoded command through the leader and waits until it is applied.
result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command,
                                      std::chrono::milliseconds timeout = default_timeout);
/// process_command_raw with options (see command_options).
result<raw_reply> process_command_raw(system& sys, const server_id& id, shared_bytes command,
                                      const command_options& opts,
                                      std::chrono::milliseconds timeout = default_timeout);
/// A typed machine (ra/typed_machine.hpp): it names its command, state and reply types.
template <class M>
concept typed_machine_type = requires {
  typename M::command_type;
  typename M::state_type;
  typename M::reply_type;
};

/// process_command<Reply>(sys, id, cmd): encodes `cmd`, waits for the machine's reply.
/// The leader refuses a command that does not decode as its machine's command type
/// (error_code::bad_command); process_command<Machine> below checks it at compile time.
template <class Reply, class Cmd>
  requires(!typed_machine_type<Reply>)
result<command_reply<Reply>> process_command(system& sys, const server_id& id, const Cmd& cmd,
                                             std::chrono::milliseconds timeout = default_timeout) {
  return process_command<Reply>(sys, id, cmd, command_options{}, timeout);
}

/// Typed, with options. With after_log_append or noreply there is no machine reply and
/// `reply` is a default-constructed Reply.
template <class Reply, class Cmd>
  requires(!typed_machine_type<Reply>)
result<command_reply<Reply>> process_command(system& sys, const server_id& id, const Cmd& cmd,
                                             const command_options& opts,
                                             std::chrono::milliseconds timeout = default_timeout) {
  return detail::to_command_reply<Reply>(process_command_raw(sys, id, encode(cmd), opts, timeout),
                                         opts.mode == reply_mode::await_consensus);
}

/// process_command<Machine>(sys, id, cmd): `cmd` must be exactly Machine::command_type
/// (checked at compile time, so an int64_t cannot be sent to a machine of structs); the
/// reply is Machine::reply_type.
template <typed_machine_type Machine, class Cmd>
  requires std::same_as<Cmd, typename Machine::command_type>
result<command_reply<typename Machine::reply_type>> process_command(
    system& sys, const server_id& id, const Cmd& cmd, const command_options& opts,
    std::chrono::milliseconds timeout = default_timeout) {
  return detail::to_command_reply<typename Machine::reply_type>(
      process_command_raw(sys, id, encode(cmd), opts, timeout), opts.mode == reply_mode::await_consensus);
}
/// process_command<Machine> with the default options.
template <typed_machine_type Machine, class Cmd>
  requires std::same_as<Cmd, typename Machine::command_type>
result<command_reply<typename Machine::reply_type>> process_command(
    system& sys, const server_id& id, const Cmd& cmd, std::chrono::milliseconds timeout = default_timeout) {
  return process_command<Machine>(sys, id, cmd, command_options{}, timeout);
}

/// Ra's pipeline_command: one-way. `notify` receives (applied_atom, actors::applied_batch)
/// with the correlations applied (batched, in log order) and (rejected_atom, uint64_t
/// correlation, command_error) for refusals (e.g. not_leader: resend to the leader).
/// Returns noproc if the server is not running (nothing was sent).
status pipeline_command_raw(system& sys, const server_id& id, shared_bytes command, uint64_t correlation,
                            const caf::actor& notify, command_priority priority = command_priority::normal);
/// pipeline_command_raw with `cmd` encoded (ra::encode).
template <class Cmd>
status pipeline_command(system& sys, const server_id& id, const Cmd& cmd, uint64_t correlation,
                        const caf::actor& notify, command_priority priority = command_priority::normal) {
  return pipeline_command_raw(sys, id, encode(cmd), correlation, notify, priority);
}

/// Ra's aux_command: runs the machine's aux handler on member `id` (no redirect; any role)
/// and returns its encoded reply.
result<shared_bytes> aux_command_raw(system& sys, const server_id& id, shared_bytes command,
                                     std::chrono::milliseconds timeout = default_timeout);
/// aux_command_raw with `cmd` encoded and the reply decoded as a Reply (bad_reply if
/// it does not decode).
template <class Reply, class Cmd>
result<Reply> aux_command(system& sys, const server_id& id, const Cmd& cmd,
                          std::chrono::milliseconds timeout = default_timeout) {
  return detail::to_aux_reply<Reply>(aux_command_raw(sys, id, encode(cmd), timeout));
}

// -- queries ---------------------------------------------------------------------------------

/// A query's result and the leader the member knew.
template <class R>
struct query_reply {
  R value;          ///< the result
  server_id leader; ///< the leader (empty if unknown)
};

namespace detail {
// The typed query's decoding, shared by the blocking and the async API.

/// A query result as the query function's type R.
template <class R>
result<query_reply<R>> to_query_reply(result<query_reply<std::any>> raw) {
  if (!raw) return std::move(raw.error());
  if (auto* v = std::any_cast<R>(&raw->value)) return query_reply<R>{std::move(*v), raw->leader};
  return make_api_error(api_errc::bad_reply, "query result has an unexpected type");
}

}  // namespace detail

/// Runs `fn` on server `id` (local: no redirect) or on the leader (leader / consistent:
/// not_leader is followed). The result is the query function's std::any.
result<query_reply<std::any>> query_raw(system& sys, const server_id& id, query_kind kind, query_fn fn,
                                        std::chrono::milliseconds timeout = default_timeout);

namespace detail {
template <class State, class F>
auto typed_query(system& sys, const server_id& id, query_kind kind, F f, std::chrono::milliseconds timeout)
  -> result<query_reply<std::decay_t<std::invoke_result_t<F, const State&>>>> {
  using R = std::decay_t<std::invoke_result_t<F, const State&>>;
  return to_query_reply<R>(query_raw(sys, id, kind, make_query<State>(std::move(f)), timeout));
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

// -- named queries (any node) -----------------------------------------------------------------

/// Runs the query registered on server `id`'s machine as `name` (ra/named_query.hpp) with
/// the encoded argument `arg` (empty for a query without one). Works whichever node the
/// caller, the server and its leader are on; leader / consistent follow not_leader like
/// the other calls. An unknown name or an argument that does not decode: invalid_argument.
result<query_reply<shared_bytes>> named_query_raw(system& sys, const server_id& id, query_kind kind,
                                                  const std::string& name, shared_bytes arg = {},
                                                  std::chrono::milliseconds timeout = default_timeout);

namespace detail {
template <class T>
inline constexpr bool is_duration = false;
template <class Rep, class Period>
inline constexpr bool is_duration<std::chrono::duration<Rep, Period>> = true;

/// A named query's encoded result as R.
template <class R>
result<query_reply<R>> to_named_reply(result<query_reply<shared_bytes>> raw) {
  if (!raw) return std::move(raw.error());
  auto v = decode<R>(raw->value);
  if (!v) return make_api_error(api_errc::bad_reply, "the query result does not decode as the type asked for");
  return query_reply<R>{std::move(*v), raw->leader};
}
}  // namespace detail

/// A named query without argument, its result decoded as R (the query's result type).
template <class R>
result<query_reply<R>> named_query(system& sys, const server_id& id, query_kind kind, const std::string& name,
                                   std::chrono::milliseconds timeout = default_timeout) {
  return detail::to_named_reply<R>(named_query_raw(sys, id, kind, name, {}, timeout));
}
/// A named query with one argument (encoded with ra::encode), its result decoded as R.
template <class R, class Arg>
  requires(!detail::is_duration<Arg>)
result<query_reply<R>> named_query(system& sys, const server_id& id, query_kind kind, const std::string& name,
                                   const Arg& arg, std::chrono::milliseconds timeout = default_timeout) {
  return detail::to_named_reply<R>(named_query_raw(sys, id, kind, name, encode(arg), timeout));
}

// -- membership ------------------------------------------------------------------------------

/// A cluster's members and its leader.
struct cluster_members {
  std::vector<member> members;  ///< the members, ordered by id
  server_id leader;  ///< empty if unknown
};

/// One member as the leader sees it (Ra's members_info).
struct member_info {
  server_id id;  ///< the member
  membership kind = membership::voter;  ///< how it takes part
  bool is_leader = false;  ///< it is the leader
  /// The leader's replication state for it (for the leader itself: its last written index).
  index_t match_index{0};
  index_t next_index{0};  ///< the next index the leader sends it
};
/// Every member as the leader sees it (members_info).
struct members_detail {
  std::vector<member_info> members;  ///< one per member
  server_id leader;                  ///< the leader that answered
};
/// The members as the leader sees them (as `id` sees them if it knows no leader).
result<cluster_members> members(system& sys, const server_id& id, std::chrono::milliseconds timeout = default_timeout);
/// The members with the leader's view of each (asks the leader, found through `id`).
result<members_detail> members_info(system& sys, const server_id& id,
                                    std::chrono::milliseconds timeout = default_timeout);
/// Adds a member (start its server first with start_server). Returns the leader. Like
/// Ra, returns once the change is appended and applied by the leader.
result<server_id> add_member(system& sys, const server_id& id, const member& new_member,
                             std::chrono::milliseconds timeout = default_timeout);
/// Removes `target` from the cluster (asking `id`, any member; its server keeps
/// running: stop or delete it after). Returns the leader, once the change is appended
/// and applied by the leader.
result<server_id> remove_member(system& sys, const server_id& id, const server_id& target,
                                std::chrono::milliseconds timeout = default_timeout);
/// Joins `new_member` to the running cluster of `existing` in one call (RaftedValue's
/// join_existing_consensus_group): starts the new server on its own node (any node,
/// through the node actors) with the cluster's name and machine and the current members,
/// then adds it. Returns the leader. If the add fails, the new server is deleted again.
result<server_id> join_cluster(system& sys, const server_id& existing, const member& new_member,
                               std::chrono::milliseconds timeout = default_timeout);
/// Asks leader `id` to hand leadership to `target` (errors: already_leader,
/// unknown_member, non_voter, not_up_to_date). Returns once the transfer was started.
status transfer_leadership(system& sys, const server_id& id, const server_id& target,
                           std::chrono::milliseconds timeout = default_timeout);

// -- observation -----------------------------------------------------------------------------

/// Ra's member_overview: one server's state as JSON (role, term, indexes, members,
/// peers if leader, the machine's overview).
result<nlohmann::json> member_overview(system& sys, const server_id& id,
                                       std::chrono::milliseconds timeout = default_timeout);
/// The system overview (Ra's overview/1): servers, their uids, roles and member overviews.
nlohmann::json overview(system& sys, std::chrono::milliseconds timeout = default_timeout);
/// Ra's key_metrics: counters and gauges of a server of this process, read without
/// messaging it (ra/key_metrics.hpp). noproc if it never ran in this process.
result<key_metrics_snapshot> key_metrics(const server_id& id);
/// The key metrics of `id` read on its own node (asked through the node actors for a
/// server of another node; this system's block for its own). noproc if the server never
/// ran there since that node started.
result<key_metrics_snapshot> key_metrics_on_node(system& sys, const server_id& id,
                                                 std::chrono::milliseconds timeout = default_timeout);

}  // namespace ra
