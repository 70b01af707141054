// The machinery shared by the API's topic files (actors/api/detail.hpp) and the blocking
// adapter (actors/api/blocking_call.hpp).

#include <algorithm>
#include <memory>

#include <caf/all.hpp>

#include "actors/api/blocking_call.hpp"
#include "actors/api/detail.hpp"
#include "ra/key_metrics.hpp"
#include "actors/server_data.hpp"
#include "actors/system_core.hpp"

namespace ra::detail {

namespace {

using namespace ra::actors;

using pause_atom = caf::atom_constant<caf::atom("ra_apause")>;
using resume_atom = caf::atom_constant<caf::atom("ra_aresume")>;
using await_down_atom = caf::atom_constant<caf::atom("ra_adown")>;

// -- pauses without blocking ---------------------------------------------------------------

/// A one-shot timer actor. The caller cannot use delayed_send to itself (its behaviour
/// belongs to the user and has no handler for our tick), so it requests (pause_atom) from
/// this helper, which answers after the delay (on the actor clock) and quits.
struct pause_state {
  caf::response_promise waiting;
  bool asked = false;
  bool expired = false;
};

/// The delay is a spawn argument (also because CAF 0.17 dereferences a null argument
/// tuple when a function-based actor is spawned without arguments).
caf::behavior pause_timer(caf::stateful_actor<pause_state>* self, uint64_t millis) {
  self->delayed_send(self, ms(millis), resume_atom::value);
  return {
    [self](pause_atom) -> caf::result<caf::ok_atom> {
      if (self->state.expired) {
        self->quit();
        return caf::ok_atom::value;
      }
      self->state.asked = true;
      self->state.waiting = self->make_response_promise();
      return self->state.waiting;
    },
    [self](resume_atom) {
      self->state.expired = true;
      if (!self->state.asked) return;
      self->state.waiting.deliver(caf::ok_atom::value);
      self->quit();
    },
  };
}

// -- redirecting calls -----------------------------------------------------------------------

/// The state of one redirecting call (shared by its pending continuations).
struct redirect_call {
  caf::event_based_actor* self;
  system* sys;
  server_id original;
  server_id target;
  time_point deadline;
  attempt_fn attempt;
  std::function<bool(const api_error&)> retry_also;  ///< transient errors besides "no leader"
  callback<done> finished;
  std::optional<api_error> last;
  time_point lookup_wait_until{};  ///< set at the first lookup that found no proxy
  on_server_loss on_loss = on_server_loss::report_maybe_applied;
};

// -- watching the server of an attempt ------------------------------------------------------

using await_loss_atom = caf::atom_constant<caf::atom("ra_aloss")>;

/// A helper that watches the server of another node an attempt waits on: the server's
/// actor (monitor) and its node (system_core::watch_node, which reports a node
/// that stops answering pings, not only a closed connection). It answers (await_loss_atom)
/// with what was lost. CAF 0.17 does not answer a request whose receiver stopped holding
/// its promise, nor one whose node froze: without this the caller waits out its timeout.
/// The attempt kills the helper when it ends; `limit` bounds it anyway.
struct loss_watch_state {
  caf::response_promise waiting;
  std::string lost;  ///< empty while nothing is lost
};

caf::behavior loss_watcher(caf::stateful_actor<loss_watch_state>* self, caf::actor target, std::string remote_node,
                           std::string system_name, uint64_t limit_millis) {
  auto report = [self](std::string what) {
    if (!self->state.lost.empty()) return;
    self->state.lost = std::move(what);
    if (self->state.waiting.pending()) {
      self->state.waiting.deliver(self->state.lost);
      self->quit();
    }
  };
  self->set_down_handler([report](caf::down_msg&) { report("it stopped"); });
  self->monitor(target);
  if (auto core = find_system(system_name)) core->watch_node(remote_node, caf::actor_cast<caf::actor>(self));
  self->delayed_send(self, ms(limit_millis), resume_atom::value);
  return {
    [self](await_loss_atom) -> caf::result<std::string> {
      self->state.waiting = self->make_response_promise();
      if (!self->state.lost.empty()) {
        self->state.waiting.deliver(self->state.lost);
        self->quit();
      }
      return self->state.waiting;
    },
    [report](node_down_atom, const std::string& node) { report("its node " + node + " was lost"); },
    [](node_up_atom, const std::string&) {},
    [self](resume_atom) { self->quit(); },
  };
}

void attempt_once(const std::shared_ptr<redirect_call>& call);

constexpr ms remote_lookup_pause{5};
constexpr ms remote_lookup_limit{1000};

/// Whether `id` is a server of another node that is up: resolve() found no proxy yet and
/// has asked that node for one (or the server is not running there, which the lookup's
/// answer will not change: the call then ends at its deadline with noproc as the last error).
bool remote_lookup_pending(system& sys, const server_id& id) {
  if (id.node == sys.name()) return false;
  auto core = find_system(sys.name());
  return core && core->node_up(id.node);
}

void after_failure(const std::shared_ptr<redirect_call>& call, api_error err) {
  using kind = redirect_step::kind;
  bool transient = call->retry_also && call->retry_also(err);
  auto step = next_redirect_step(err, call->target, call->original, transient);
  call->last = std::move(err);
  call->target = step.next;
  switch (step.what) {
    case kind::give_up:
      call->finished(std::move(*call->last));
      return;
    case kind::retry_now:
      attempt_once(call);
      return;
    case kind::retry_later: {
      auto left = left_until(call->self, call->deadline);
      // Pause at most until the deadline, so that the timeout is reported on time.
      auto pause = std::max(std::min(redirect_retry_pause, left), ms{1});
      after_pause(call->self, pause, [call] { attempt_once(call); });
      return;
    }
  }
}

void attempt_once(const std::shared_ptr<redirect_call>& call) {
  auto left = left_until(call->self, call->deadline);
  if (left.count() <= 0) {
    auto e = make_api_error(api_errc::timeout, "no result from " + call->original.to_string() + " in time");
    if (call->last) e.message += " (last: " + call->last->to_string() + ")";
    call->finished(std::move(e));
    return;
  }
  auto a = call->sys->lookup(call->target);
  if (!a) {
    auto now = call->self->clock().now();
    if (call->lookup_wait_until == time_point{}) call->lookup_wait_until = now + remote_lookup_limit;
    if (now < call->lookup_wait_until && remote_lookup_pending(*call->sys, call->target)) {
      // A server of a connected node not looked up yet: the lookup resolve() just sent
      // is answered within a round trip. Ask again shortly instead of failing noproc
      // (for at most remote_lookup_limit: a server not running there stays noproc).
      call->last = not_running(call->target);
      auto pause = std::max(std::min(remote_lookup_pause, left_until(call->self, call->deadline)), ms{1});
      after_pause(call->self, pause, [call] { attempt_once(call); });
      return;
    }
    after_failure(call, not_running(call->target));
    return;
  }
  auto end_here = [call](std::optional<api_error> err) {
    if (!err)
      call->finished(done{});
    else
      after_failure(call, std::move(*err));
  };
  // A server of this process answers its waiting calls when it stops, whatever stops it
  // (its exit hook fails them): no watcher, which would cost each call a spawn.
  if (call->target.node == call->sys->name()) return call->attempt(a, call->target, left, end_here);
  // A server of another node: the attempt ends once, with its answer or when the server
  // or its node is lost first.
  auto self = call->self;
  auto watcher =
    self->spawn(loss_watcher, a, call->target.node, call->sys->name(), static_cast<uint64_t>(left.count()));
  auto ended = std::make_shared<bool>(false);
  auto end_attempt = [end_here, ended, watcher, self](std::optional<api_error> err) {
    if (*ended) return;
    *ended = true;
    self->send_exit(watcher, caf::exit_reason::user_shutdown);
    end_here(std::move(err));
  };
  self->request(watcher, left, await_loss_atom::value)
    .then(
      [call, end_attempt, target = call->target](const std::string& what) {
        auto lost = target.to_string() + " was lost before it answered: " + what;
        if (call->on_loss == on_server_loss::retry)
          return end_attempt(make_api_error(api_errc::noproc, lost));
        // As when a server stops holding the command (fail_waiters): leadership_lost, the
        // one answer that means "may or may not be applied", which callers must not retry.
        auto e = from_command(command_error{error_code::leadership_lost, {}});
        e.message = lost + "; the command may or may not be applied";
        end_attempt(std::move(e));
      },
      [](caf::error&) {});  // the attempt ended first and stopped the watcher
  call->attempt(a, call->target, left, end_attempt);
}

// -- waiting for a server to stop -------------------------------------------------------------

/// A helper that monitors one actor and answers (await_down_atom) with ok_atom once it is
/// down. The caller cannot monitor the server itself: its down handler belongs to the
/// user. The helper quits after answering, or after `limit` (the caller's request has
/// timed out by then), so a server that never stops does not keep it alive.
struct down_waiter_state {
  caf::response_promise waiting;
  bool down = false;
};

caf::behavior down_waiter(caf::stateful_actor<down_waiter_state>* self, const caf::actor& target, ms limit) {
  self->set_down_handler([self](caf::down_msg&) {
    self->state.down = true;
    if (self->state.waiting.pending()) {
      self->state.waiting.deliver(caf::ok_atom::value);
      self->quit();
    }
  });
  // Monitoring an actor that is already gone yields its down message at once.
  self->monitor(target);
  self->delayed_send(self, limit, resume_atom::value);
  return {
    [self](await_down_atom) {
      self->state.waiting = self->make_response_promise();
      if (self->state.down) {
        self->state.waiting.deliver(caf::ok_atom::value);
        self->quit();
      }
      return self->state.waiting;
    },
    [self](resume_atom) { self->quit(); },
  };
}

}  // namespace

void after_pause(caf::event_based_actor* self, ms delay, std::function<void()> next) {
  auto timer = self->spawn(pause_timer, static_cast<uint64_t>(delay.count()));
  // The helper answers after the delay; an error (it died) must not lose the retry either.
  self->request(timer, caf::infinite, pause_atom::value)
    .then([next](caf::ok_atom) { next(); }, [next](caf::error&) { next(); });
}

redirect_step next_redirect_step(const api_error& err, const server_id& target, const server_id& original,
                                 bool retry_also_this) {
  using k = redirect_step::kind;
  if (err.is(error_code::not_leader)) {
    const auto& hint = err.command->leader;
    if (!hint.empty() && hint != target) return {k::retry_now, hint};
    return {k::retry_later, target};
  }
  if (err.code == api_errc::noproc && target != original) return {k::retry_later, original};
  if (retry_also_this) return {k::retry_later, target};
  return {k::give_up, target};
}

void redirecting(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout, attempt_fn attempt,
                 callback<done> finished, std::function<bool(const api_error&)> retry_also,
                 on_server_loss on_loss) {
  auto call = std::make_shared<redirect_call>(redirect_call{self, &sys, id, id, self->clock().now() + timeout,
                                                            std::move(attempt), std::move(retry_also),
                                                            std::move(finished), std::nullopt});
  call->on_loss = on_loss;
  attempt_once(call);
}

void ask_members(caf::event_based_actor* self, system& sys, const server_id& who, time_point deadline,
                 std::function<void(std::optional<members_result>)> next) {
  auto a = sys.lookup(who);
  if (!a) return next(std::nullopt);
  self->request(a, std::max(left_until(self, deadline), ms{1}), members_atom::value)
    .then([next](const members_result& r) { next(r); }, [next](caf::error&) { next(std::nullopt); });
}

void stop_local_server(caf::event_based_actor* self, system& sys, const server_id& id, time_point deadline,
                       callback<done> then) {
  auto core = find_system(sys.name());
  if (!core) return then(make_api_error(api_errc::noproc, "system " + sys.name() + " stopped"));
  auto a = id.node == sys.name() ? core->find(id.name) : caf::actor{};
  if (!a) return then(not_running(id));
  auto left = std::max(left_until(self, deadline), ms{1});
  core->allow_stop(a.address());
  self->send_exit(a, caf::exit_reason::user_shutdown);
  auto waiter = self->spawn(down_waiter, a, left);
  // The server's exit hook clears its directory entry and key metrics too, but it may
  // still run when the down message arrives: do it here as well, as stop_server does.
  auto forget = [core, name = id.name, addr = a.address()] {
    core->forget_actor(name, addr);
  };
  self->request(waiter, left, await_down_atom::value)
    .then(
      [forget, then, node = core->name, name = id.name, actor_id = a.id()](caf::ok_atom) {
        forget();
        if (auto m = find_key_metrics(node, name)) m->mark_stopped(actor_id);
        then(done{});
      },
      [forget, then, id](caf::error&) {
        forget();
        then(make_api_error(api_errc::timeout, id.to_string() + " did not stop"));
      });
}

status delete_stopped_server(system& sys, const server_id& id) {
  auto core = find_system(sys.name());
  std::string uid = sys.uid_of(id.name);
  if (!core || uid.empty()) return make_api_error(api_errc::noproc, "unknown server " + id.to_string());
  if (auto del = delete_server_data(*core, id.name, uid); !del) return del.error();
  return done{};
}

// -- the blocking adapter --------------------------------------------------------------------

helper_end run_helper(system& sys, ms timeout,
                      std::function<void(caf::event_based_actor*, const std::shared_ptr<helper_latch>&)> start) {
  if (sys.stopped()) return helper_end::system_stopped;
  auto latch = std::make_shared<helper_latch>();
  // The latch as a spawn argument (CAF 0.17 also dereferences a null argument tuple for
  // argument-less functors).
  auto helper = sys.actor_system().spawn(
    [start = std::move(start)](caf::event_based_actor* self, std::shared_ptr<helper_latch> latch) -> caf::behavior {
      start(self, latch);
      return {[](caf::ok_atom) {}};  // the helper only waits for the answers of its requests
    },
    latch);
  // Runs at the helper's exit, or at once if it has exited already.
  helper->attach_functor([latch] { latch->open(); });
  // Bounded, so that a helper stuck for any reason cannot block the caller forever; capped
  // so that the deadline arithmetic cannot overflow.
  constexpr ms cap = std::chrono::hours(24 * 365);
  const ms limit = timeout >= cap - blocking_grace ? cap : std::max(timeout, ms{0}) + blocking_grace;
  if (latch->wait_for(limit)) return helper_end::quit;
  caf::anon_send_exit(helper, caf::exit_reason::kill);
  return helper_end::timed_out;
}

api_error blocking_failure(helper_end how) {
  switch (how) {
    case helper_end::system_stopped:
      return make_api_error(api_errc::noproc, "the system is stopped");
    case helper_end::timed_out:
      return make_api_error(api_errc::timeout, "the call did not report in time");
    case helper_end::quit:
      break;
  }
  return make_api_error(api_errc::noproc, "the call ended without a result");
}

}  // namespace ra::detail
