#pragma once
// Internal: the machinery of the client API (actors/api/*.cpp). Not part of the public API.
//
// Every operation is implemented once, as an async call (ra/async_api.hpp) that runs
// inside a caller actor. The helpers here are what those calls share: the error mapping,
// the rule for following leaders, pauses and polls on the actor clock, and stopping a
// local server without blocking. The blocking API (ra/api.hpp) runs the same async
// calls through one adapter (actors/api/blocking_call.hpp).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>

#include "ra/async_api.hpp"
#include "actors/messages.hpp"
#include "ra/result.hpp"
#include "ra/types.hpp"

namespace ra::detail {

using ms = std::chrono::milliseconds;
using time_point = caf::actor_clock::time_point;
template <class T>
using callback = async::callback<T>;

// -- errors ------------------------------------------------------------------------------------

/// The one way to say that server `id` is not running (not in the directory, or gone).
inline api_error not_running(const server_id& id) {
  return make_api_error(api_errc::noproc, id.to_string() + " is not running");
}

/// A failed CAF request to server `id`: a request timeout becomes api_errc::timeout,
/// anything else (the actor is gone, or went while the request waited) noproc.
inline api_error from_caf(const caf::error& e, const server_id& id) {
  if (e == caf::sec::request_timeout) return make_api_error(api_errc::timeout, "no answer from " + id.to_string());
  return not_running(id);
}

/// Raft refused the request (not_leader with a hint, stopped, ...).
/// A Raft refusal; a leader's size refusal keeps its own code, the one the API's own
/// size check returns before sending (the command error stays attached).
inline api_error from_command(const command_error& e) {
  if (e.code == error_code::command_too_large) return api_error{api_errc::command_too_large, e, "refused by the leader"};
  return api_error{api_errc::command, e, {}};
}

// -- time ------------------------------------------------------------------------------------

/// How long a redirecting call waits before it asks again while no leader is known.
inline constexpr ms redirect_retry_pause{20};
/// How often a call that waits for a condition outside any actor's reach (e.g. servers
/// gone from the directory) checks it again.
inline constexpr ms poll_interval{5};

/// What is left until `deadline` on the actor clock (0 once it passed). The actor clock is
/// the steady clock in production and simulated time under CAF's test scheduler.
inline ms left_until(const caf::actor_clock& clock, time_point deadline) {
  auto left = deadline - clock.now();
  return left <= time_point::duration::zero() ? ms{0} : std::chrono::ceil<ms>(left);
}
inline ms left_until(caf::event_based_actor* self, time_point deadline) { return left_until(self->clock(), deadline); }

/// Runs `next` inside `self` after `delay` on the actor clock (never, if self terminates
/// first). `self`'s behaviour needs no handler for it: a helper actor keeps the timer.
void after_pause(caf::event_based_actor* self, ms delay, std::function<void()> next);

/// Calls `ask(left, answer)` now and then every `interval` until it answers a value, then
/// then(value); then(nullopt) once the deadline passed without one. With `first_pause`
/// below `interval`, the pauses start there and double up to `interval`: for a condition
/// that usually holds within a few milliseconds (a new cluster's election) the caller
/// does not wait a whole interval for the second look.
template <class T>
using poll_step = std::function<void(ms left, std::function<void(std::optional<T>)> answer)>;
template <class T>
void poll(caf::event_based_actor* self, time_point deadline, ms interval, poll_step<T> ask,
          std::function<void(std::optional<T>)> then, ms first_pause = ms::max()) {
  auto left = left_until(self, deadline);
  if (left.count() <= 0) return then(std::nullopt);
  const ms pause = std::max(ms{1}, std::min(first_pause, interval));
  ask(left, [self, deadline, interval, pause, ask, then](std::optional<T> v) mutable {
    if (v) return then(std::move(v));
    auto left = left_until(self, deadline);
    if (left.count() <= 0) return then(std::nullopt);
    after_pause(self, std::min(pause, left), [self, deadline, interval, pause, ask, then]() mutable {
      poll<T>(self, deadline, interval, std::move(ask), std::move(then), pause * 2);
    });
  });
}

// -- requests that follow the leader ---------------------------------------------------------

/// Reports the outcome of one attempt: nullopt on success, else the error.
using attempt_done = std::function<void(std::optional<api_error>)>;
/// One request to a server's actor `a` (server `to`) with `left` to go; calls `done` once.
using attempt_fn = std::function<void(const caf::actor& a, const server_id& to, ms left, attempt_done done)>;

/// What a call that follows leaders does after an attempt on `target` failed.
struct redirect_step {
  enum class kind : uint8_t {
    give_up,      ///< return the error to the caller
    retry_now,    ///< ask `next` at once (a not_leader hint naming another server)
    retry_later,  ///< ask `next` after redirect_retry_pause (no leader known yet)
  };
  kind what = kind::give_up;
  server_id next;
};

/// The redirect rule of every call that needs the leader: follow a not_leader hint that
/// names another server; with no usable hint wait and ask the same server again; if a
/// hinted server is not running, go back to the member the caller named (`original`);
/// retry the errors `retry_also_this` says are transient; give up on anything else.
redirect_step next_redirect_step(const api_error& err, const server_id& target, const server_id& original,
                                 bool retry_also_this);

/// What a call does when the server it waits on stops, or that server's node is lost,
/// before it answered (the call does not wait out its timeout for an answer that cannot come).
enum class on_server_loss : uint8_t {
  /// The call may have taken effect: fail at once with the command error leadership_lost
  /// ("may or may not be applied"), as a server that stops holding it answers.
  report_maybe_applied,
  /// The call changes nothing (a query): treat the server as not running, which sends a
  /// redirected call back to the member the caller named, who knows the new leader.
  retry,
};

/// Runs `attempt` against `id` and then against the leaders it is redirected to
/// (next_redirect_step), until one succeeds, an error that is not about the leader comes
/// back, or the timeout. `retry_also` names further transient errors. Each attempt
/// watches its server (and that server's node) and ends as `on_loss` says when it goes.
void redirecting(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout, attempt_fn attempt,
                 callback<done> finished, std::function<bool(const api_error&)> retry_also = {},
                 on_server_loss on_loss = on_server_loss::report_maybe_applied);

/// Sends `request...` to `a` (server `to`) from `self` and reports its command_result: a
/// refusal becomes api_errc::command; success hands the result to `keep`.
template <class... Ts>
void request_command(caf::event_based_actor* self, const caf::actor& a, const server_id& to, ms left,
                     std::function<void(const actors::command_result&)> keep, attempt_done done, Ts&&... request) {
  self->request(a, left, std::forward<Ts>(request)...)
    .then(
      [keep, done](const actors::command_result& r) {
        if (r.failed) return done(from_command(r.error));
        if (keep) keep(r);
        done(std::nullopt);
      },
      [done, to](caf::error& e) { done(from_caf(e, to)); });
}

/// Asks `who` (no redirect) for (members_atom): its members, role and leader. nullopt if it
/// is not running or did not answer by the deadline.
void ask_members(caf::event_based_actor* self, system& sys, const server_id& who, time_point deadline,
                 std::function<void(std::optional<actors::members_result>)> next);

/// Asks `id` (no redirect) for its member overview, typed (member_overview and members_info
/// read it; JSON only at the public edge). Errors: noproc, timeout.
void ask_overview(caf::event_based_actor* self, system& sys, const server_id& id, std::chrono::milliseconds timeout,
                  callback<actors::overview_result> then);

// -- stopping servers of this node -------------------------------------------------------------

/// Stops server `id` of this node (exit user_shutdown, as system::stop_server) and reports
/// once its actor is down (timeout if not by the deadline). noproc if it is not running.
void stop_local_server(caf::event_based_actor* self, system& sys, const server_id& id, time_point deadline,
                       callback<done> then);

/// Deletes the data of server `id` of this node, which must not be running, and forgets it
/// (system::delete_server's second half). noproc if the system does not know it.
status delete_stopped_server(system& sys, const server_id& id);

}  // namespace ra::detail
