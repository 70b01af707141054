#pragma once
// Internal: the one adapter that turns an async API call (ra/async_api.hpp) into a
// blocking one (ra/api.hpp). Not part of the public API.
//
//   status transfer_leadership(system& sys, const server_id& id, const server_id& target, ms timeout) {
//     return detail::run_blocking<done>(async::transfer_leadership, sys, timeout, id, target);
//   }
//
// The call runs in a short-lived helper actor; the calling thread waits on a latch (a
// mutex and a condition variable, no actor of its own). The helper opens the latch and
// quits as soon as the async call reports; the latch is also attached to the helper's
// exit: if it dies without reporting, the call ends with noproc at once.
// The async call keeps its own timeout (on the actor clock); the wait is bounded by
// that timeout plus blocking_grace, after which the helper is killed and the call ends
// with api_errc::timeout. The async call runs exactly once: nothing is retried here.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
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

/// What the calling thread of a blocking call waits on: opened once by the helper when
/// its call reported, or by the helper's exit. Opening twice is harmless.
class helper_latch {
 public:
  void open() {
    {
      std::lock_guard lk{mx_};
      open_ = true;
    }
    cv_.notify_one();
  }
  /// True if opened within `limit`.
  bool wait_for(std::chrono::milliseconds limit) {
    std::unique_lock lk{mx_};
    return cv_.wait_for(lk, limit, [this] { return open_; });
  }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// Spawns an event-based actor that runs `start(self, latch)` in its first activation and
/// waits (bounded, see above) until the latch opens: the helper opened it (it reported)
/// or it terminated. A latch rather than a scoped_actor: no second actor per call, no
/// down message, the reporting thread wakes the caller directly.
helper_end run_helper(system& sys, std::chrono::milliseconds timeout,
                      std::function<void(caf::event_based_actor*, const std::shared_ptr<helper_latch>&)> start);

/// The error of a blocking call whose helper ended without a result.
api_error blocking_failure(helper_end how);

/// Runs `start(self, then)` (an async API call issued from `self` that reports through
/// `then`, exactly once) and returns what it reports. `start` runs on another thread,
/// possibly after this function returned (timed_out): capture its arguments by value.
template <class T, class Start>
result<T> blocking_call(system& sys, std::chrono::milliseconds timeout, Start start) {
  auto out = std::make_shared<std::optional<result<T>>>();
  auto how = run_helper(sys, timeout, [start = std::move(start), out](caf::event_based_actor* self,
                                                                      const std::shared_ptr<helper_latch>& latch) mutable {
    start(self, async::callback<T>{[self, out, latch](result<T> r) {
            *out = std::move(r);
            latch->open();  // after the write: the latch's mutex orders it
            self->quit();
          }});
  });
  // `out` is written once, before the latch opens (the helper's report or its exit).
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
