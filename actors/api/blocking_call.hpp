#pragma once
// Internal: the one adapter that turns an async API call (ra/async_api.hpp) into a
// blocking one (ra/api.hpp). Not part of the public API.
//
//   status transfer_leadership(system& sys, const server_id& id, const server_id& target, ms timeout) {
//     return detail::run_blocking<done>(async::transfer_leadership, sys, timeout, id, target);
//   }
//
// The call runs in a short-lived helper actor; the calling thread waits for it on a
// scoped_actor. The helper tells the waiter (ok_atom) and quits as soon as the async call
// reports; the waiter also monitors it: if it dies without reporting, the call ends with
// noproc at once.
// The async call keeps its own timeout (on the actor clock); the wait is bounded by
// that timeout plus blocking_grace, after which the helper is killed and the call ends
// with api_errc::timeout. The async call runs exactly once: nothing is retried here.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include <caf/event_based_actor.hpp>

#include "ra/async_api.hpp"
#include "ra/result.hpp"
#include "ra/system.hpp"

namespace ra::detail {

/// How much longer than its own timeout a blocking call waits for the async call's report.
inline constexpr std::chrono::milliseconds blocking_grace{1000};

/// How the helper actor of a blocking call ended.
enum class helper_end : uint8_t {
  quit,            ///< it reported (its ok_atom), or it terminated without reporting
  timed_out,       ///< it did not end within timeout + blocking_grace (it was killed)
  system_stopped,  ///< the system is stopped: nothing was started
};

/// Spawns an event-based actor that runs `start(self, waiter)` in its first activation and
/// waits (bounded, see above) until it sends `waiter` an ok_atom (it reported) or
/// terminates. Reporting by message, not by the helper's exit, saves the caller the wait
/// for the helper's teardown and its down message on every call.
helper_end run_helper(system& sys, std::chrono::milliseconds timeout,
                      std::function<void(caf::event_based_actor*, const caf::actor&)> start);

/// The error of a blocking call whose helper ended without a result.
api_error blocking_failure(helper_end how);

/// Runs `start(self, then)` (an async API call issued from `self` that reports through
/// `then`, exactly once) and returns what it reports. `start` runs on another thread,
/// possibly after this function returned (timed_out): capture its arguments by value.
template <class T, class Start>
result<T> blocking_call(system& sys, std::chrono::milliseconds timeout, Start start) {
  auto out = std::make_shared<std::optional<result<T>>>();
  auto how = run_helper(sys, timeout, [start = std::move(start), out](caf::event_based_actor* self,
                                                                      const caf::actor& waiter) mutable {
    start(self, async::callback<T>{[self, out, waiter](result<T> r) {
            *out = std::move(r);
            self->send(waiter, caf::ok_atom::value);  // after the write: the message orders it
            self->quit();
          }});
  });
  // `out` is written once, before the helper's ok_atom or its exit reaches the waiter.
  if (how == helper_end::quit && out->has_value()) return std::move(**out);
  return blocking_failure(how);
}

/// The blocking form of the async call `fn(self, sys, args..., timeout, then)` reporting a
/// result<T>: each blocking call of ra/api.hpp is one of these. The arguments are
/// copied into the call.
template <class T, class Fn, class... Args>
result<T> run_blocking(Fn fn, system& sys, std::chrono::milliseconds timeout, Args... args) {
  return blocking_call<T>(sys, timeout, [fn, &sys, timeout, args...](caf::event_based_actor* self,
                                                                     async::callback<T> then) {
    fn(self, sys, args..., timeout, std::move(then));
  });
}

}  // namespace ra::detail
