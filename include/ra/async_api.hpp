#pragma once
// The public API for callers that are CAF actors (Ra's ra module, used from inside a
// process): the same calls as the blocking API (ra/api.hpp) without blocking. Each
// call sends request(s) from `self` and returns at once; `then` runs later, inside
// `self` (in one of its message handlers, so it may touch the actor's state), exactly
// once, with a ra::result: the value or an api_error (timeout, noproc, Raft's refusal
// with its leader hint ...). Nothing throws for expected failures.
//
// Calls that need the leader follow `not_leader` hints to the leader, and while no
// leader is known they ask again after a short pause (a helper actor's timer; `self`
// keeps handling its other messages meanwhile), all within `timeout`. The timeout and
// the pauses use the actor clock, so under CAF's deterministic test scheduler they run
// in simulated time.
//
// These calls are the API's only implementation (actors/api/<topic>.cpp): each blocking
// call of ra/api.hpp runs the async call of the same name to completion.
//
// If `self` terminates before the answer, `then` is never called. `sys` must outlive
// the call (the continuations look servers up in it).
//
//   behavior client(event_based_actor* self, ra::system* sys, ra::server_id id) {
//     ra::async::process_command<int64_t>(self, *sys, id, int64_t{5}, 5s,
//       [](ra::result<ra::command_reply<int64_t>> r) { if (r) use(r->reply); });
//     return { ... };
//   }

#include <any>
#include <chrono>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "ra/api.hpp"
#include "ra/result.hpp"
#include "ra/system.hpp"
#include "ra/codec.hpp"
#include "ra/typed_machine.hpp"

/// The API for callers that are CAF actors: the calls of ra/api.hpp without blocking,
/// each reporting once to a callback run inside the calling actor.
namespace ra::async {

/// Receives the outcome of an asynchronous call (runs inside the calling actor).
template <class T>
using callback = std::function<void(result<T>)>;

// -- lifecycle -------------------------------------------------------------------------------

/// Makes server `id` enter pre_vote now (needed once for a brand-new cluster).
/// Errors: noproc, timeout.
void trigger_election(caf::event_based_actor* self, system& sys, const server_id& id,
                      std::chrono::milliseconds timeout, callback<done> then);

/// Ra's delete_cluster: commits an end-of-life entry through the leader (asked through the
/// first running member of `ids`, following redirects); every member that applies it stops
/// and deletes its data. Reports once the leader applied it and every member in `ids` on
/// this node is neither running nor known to the system any more (checked every few ms of
/// the actor clock). Errors: invalid_argument (empty `ids`), the redirecting errors, and
/// timeout (also when the entry committed but a local member is not gone in time).
void delete_cluster(caf::event_based_actor* self, system& sys, const std::vector<server_id>& ids,
                    std::chrono::milliseconds timeout, callback<done> then);
/// Removes `target` from its cluster (asking `id`, any member; as remove_member), then, if
/// `target` runs on this node, stops it (data kept) and reports once its actor is down.
/// Errors: those of remove_member; timeout if the server did not stop in time.
void leave_and_terminate(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                         std::chrono::milliseconds timeout, callback<done> then);
/// As leave_and_terminate, then deletes the server's data (log, snapshots, config, meta
/// entry) and forgets it if it is on this node (whether it was running or not).
/// Further errors: noproc (this node does not know `target`), storage.
void leave_and_delete_server(caf::event_based_actor* self, system& sys, const server_id& id,
                             const server_id& target, std::chrono::milliseconds timeout, callback<done> then);

// -- commands ------------------------------------------------------------------------------

/// Appends an encoded command through the leader (following redirects) and reports the
/// machine's encoded reply once the command is applied.
void process_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                         std::chrono::milliseconds timeout, callback<raw_reply> then);

/// process_command_raw with options (command_options, api.hpp), like the blocking call:
///  - await_consensus: the machine's reply once the leader applied it; with reply_from
///    local (`id`, which must be on this node) or member (opts.reply_member) the call then
///    also waits until that member applied the command's index, so a local_query on it
///    made from `then` sees the command.
///  - after_log_append: reports once the leader appended it (reply empty, index and
///    leader set); the command may still fail to commit.
///  - noreply: sent one-way to `id` only (no redirect: dropped unless `id` leads) and
///    `then(raw_reply{})` runs at once. noproc if `id` is not running.
/// Errors besides the redirecting ones: invalid_argument for mode notify (use
/// pipeline_command), reply_from local with `id` on another node, reply_from member
/// without reply_member.
void process_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                         const command_options& opts, std::chrono::milliseconds timeout, callback<raw_reply> then);

/// Typed, with options. With after_log_append or noreply there is no machine reply and
/// `reply` is a default-constructed Reply.
template <class Reply, class Cmd>
void process_command(caf::event_based_actor* self, system& sys, const server_id& id, const Cmd& cmd,
                     const command_options& opts, std::chrono::milliseconds timeout,
                     callback<command_reply<Reply>> then) {
  const bool has_reply = opts.mode == reply_mode::await_consensus;
  process_command_raw(self, sys, id, encode(cmd), opts, timeout,
                      [has_reply, then = std::move(then)](result<raw_reply> raw) {
                        then(ra::detail::to_command_reply<Reply>(std::move(raw), has_reply));
                      });
}

/// Encodes `cmd`, and decodes the machine's reply as Reply (api_errc::bad_reply if it
/// does not decode).
template <class Reply, class Cmd>
void process_command(caf::event_based_actor* self, system& sys, const server_id& id, const Cmd& cmd,
                     std::chrono::milliseconds timeout, callback<command_reply<Reply>> then) {
  process_command<Reply>(self, sys, id, cmd, command_options{}, timeout, std::move(then));
}

/// Ra's pipeline_command, sent from `self` (so it stays in order with self's other
/// messages to that server). One-way: `self` receives (actors::applied_atom,
/// actors::applied_batch) for applied commands (batched, in log order) and
/// (actors::rejected_atom, uint64_t correlation, command_error) for refusals, so its
/// behaviour must handle both. No redirect: a not_leader refusal carries the leader hint.
/// Returns noproc if server `id` is not running (nothing was sent).
status pipeline_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                            uint64_t correlation, command_priority priority = command_priority::normal);
/// pipeline_command_raw with `cmd` encoded (ra::encode).
template <class Cmd>
status pipeline_command(caf::event_based_actor* self, system& sys, const server_id& id, const Cmd& cmd,
                        uint64_t correlation, command_priority priority = command_priority::normal) {
  return pipeline_command_raw(self, sys, id, encode(cmd), correlation, priority);
}

/// Ra's aux_command: runs the machine's aux handler on member `id` (no redirect; any role)
/// and reports its encoded reply. Errors: noproc, timeout, command (the server refused).
void aux_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                     std::chrono::milliseconds timeout, callback<shared_bytes> then);
/// Typed: encodes `cmd`, decodes the aux reply as Reply (api_errc::bad_reply if it does not).
template <class Reply, class Cmd>
void aux_command(caf::event_based_actor* self, system& sys, const server_id& id, const Cmd& cmd,
                 std::chrono::milliseconds timeout, callback<Reply> then) {
  aux_command_raw(self, sys, id, encode(cmd), timeout, [then = std::move(then)](result<shared_bytes> raw) {
    then(ra::detail::to_aux_reply<Reply>(std::move(raw)));
  });
}

// -- queries ---------------------------------------------------------------------------------

/// Runs `fn` on server `id` (query_kind::local: no redirect) or on the leader (leader /
/// consistent: not_leader is followed). Reports the query function's std::any.
void query_raw(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind, query_fn fn,
               std::chrono::milliseconds timeout, callback<query_reply<std::any>> then);

/// The named query of ra/api.hpp's named_query_raw, from an actor: any node.
void named_query_raw(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind,
                     const std::string& name, shared_bytes arg, std::chrono::milliseconds timeout,
                     callback<query_reply<shared_bytes>> then);

/// A named query, its result decoded as R; `then` takes result<query_reply<R>>.
template <class R, class Then>
void named_query(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind,
                 const std::string& name, shared_bytes arg, std::chrono::milliseconds timeout, Then then) {
  named_query_raw(self, sys, id, kind, name, std::move(arg), timeout,
                  [then = std::move(then)](result<query_reply<shared_bytes>> raw) mutable {
                    then(ra::detail::to_named_reply<R>(std::move(raw)));
                  });
}

namespace detail {
template <class State, class F, class Then>
void typed_query(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind, F f,
                 std::chrono::milliseconds timeout, Then then) {
  using R = std::decay_t<std::invoke_result_t<F, const State&>>;
  query_raw(self, sys, id, kind, make_query<State>(std::move(f)), timeout,
            [then = std::move(then)](result<query_reply<std::any>> raw) mutable {
              then(ra::detail::to_query_reply<R>(std::move(raw)));
            });
}
}  // namespace detail

/// Reads server `id`'s state as it is now (possibly stale). State is the machine's
/// state_type; f: const State& -> R; `then` takes result<query_reply<R>>.
template <class State, class F, class Then>
void local_query(caf::event_based_actor* self, system& sys, const server_id& id, F f,
                 std::chrono::milliseconds timeout, Then then) {
  detail::typed_query<State>(self, sys, id, query_kind::local, std::move(f), timeout, std::move(then));
}
/// Reads the leader's state (no check that it is still the leader).
template <class State, class F, class Then>
void leader_query(caf::event_based_actor* self, system& sys, const server_id& id, F f,
                  std::chrono::milliseconds timeout, Then then) {
  detail::typed_query<State>(self, sys, id, query_kind::leader, std::move(f), timeout, std::move(then));
}
/// Linearizable read: the leader confirms its leadership with a quorum and evaluates
/// once it applied everything committed when the query arrived. A leader cut off from
/// its quorum never answers: the call then ends with api_errc::timeout.
template <class State, class F, class Then>
void consistent_query(caf::event_based_actor* self, system& sys, const server_id& id, F f,
                      std::chrono::milliseconds timeout, Then then) {
  detail::typed_query<State>(self, sys, id, query_kind::consistent, std::move(f), timeout, std::move(then));
}

// -- membership ------------------------------------------------------------------------------

/// The members as the leader sees them (as `id` sees them if it knows no leader, or the
/// leader it names does not answer as leader in time).
void members(caf::event_based_actor* self, system& sys, const server_id& id, std::chrono::milliseconds timeout,
             callback<cluster_members> then);
/// Ra's members_info: the members (as members() finds them through `id`) with the
/// leader's replication state of each, read from the leader's member overview. If no
/// leader is known or its overview cannot be read in time, the indexes are 0.
void members_info(caf::event_based_actor* self, system& sys, const server_id& id, std::chrono::milliseconds timeout,
                  callback<members_detail> then);

/// Adds a member (start its server first); reports the leader once the change is
/// appended and applied by the leader. A new leader's "cluster change not permitted"
/// (its first entry is not committed yet) is retried within the timeout.
void add_member(caf::event_based_actor* self, system& sys, const server_id& id, const member& new_member,
                std::chrono::milliseconds timeout, callback<server_id> then);
/// Removes a member; reports the leader (same rules as add_member).
void remove_member(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                   std::chrono::milliseconds timeout, callback<server_id> then);
/// Asks the leader (following redirects from `id`) to hand leadership to `target`
/// (errors: already_leader, unknown_member, non_voter, not_up_to_date). Reports once the
/// transfer was started, not once it finished.
void transfer_leadership(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                         std::chrono::milliseconds timeout, callback<done> then);

// -- observation -----------------------------------------------------------------------------

/// Ra's member_overview: server `id`'s state as JSON (role, term, indexes, members, peers
/// if leader, the machine's overview). No redirect. Errors: noproc, timeout, bad_reply.
void member_overview(caf::event_based_actor* self, system& sys, const server_id& id,
                     std::chrono::milliseconds timeout, callback<nlohmann::json> then);
}  // namespace ra::async
