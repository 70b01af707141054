#include "actors/async_api.hpp"

#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/api_detail.hpp"
#include "actors/messages.hpp"

namespace ra::async {

namespace {

using namespace ra::actors;
using ra::detail::from_caf;
using ra::detail::from_command;
using ms = std::chrono::milliseconds;
using time_point = caf::actor_clock::time_point;

using pause_atom = caf::atom_constant<caf::atom("ra_apause")>;
using resume_atom = caf::atom_constant<caf::atom("ra_aresume")>;

// -- pauses without blocking ---------------------------------------------------------------

/// A one-shot timer actor. The caller cannot use delayed_send to itself (its behaviour
/// belongs to the user and has no handler for our tick), so it requests (pause_atom, ms)
/// from this helper, which answers after that long (on the actor clock) and quits.
struct pause_state {
  caf::response_promise waiting;
};

caf::behavior pause_timer(caf::stateful_actor<pause_state>* self) {
  return {
    [self](pause_atom, uint64_t millis) {
      self->state.waiting = self->make_response_promise();
      self->delayed_send(self, ms(millis), resume_atom::value);
      return self->state.waiting;
    },
    [self](resume_atom) {
      self->state.waiting.deliver(caf::ok_atom::value);
      self->quit();
    },
  };
}

/// Runs `next` inside `self` after `delay` (never, if self terminates first).
void after_pause(caf::event_based_actor* self, ms delay, std::function<void()> next) {
  auto timer = self->spawn(pause_timer);
  // The helper answers after the delay; an error (it died) must not lose the retry either.
  self->request(timer, caf::infinite, pause_atom::value, static_cast<uint64_t>(delay.count()))
    .then([next](caf::ok_atom) { next(); }, [next](caf::error&) { next(); });
}

ms left_until(caf::event_based_actor* self, time_point deadline) {
  auto left = deadline - self->clock().now();
  return left <= time_point::duration::zero() ? ms{0} : std::chrono::ceil<ms>(left);
}

// -- one request, and requests that follow the leader ------------------------------------------

/// Reports the outcome of one attempt: nullopt on success, else the error.
using attempt_done = std::function<void(std::optional<api_error>)>;
/// One request to a server's actor with `left` to go; calls `done` exactly once.
using attempt_fn = std::function<void(const caf::actor&, const server_id&, ms left, attempt_done done)>;

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
};

void attempt_once(const std::shared_ptr<redirect_call>& call);

void after_failure(const std::shared_ptr<redirect_call>& call, api_error err) {
  using kind = ra::detail::redirect_step::kind;
  bool transient = call->retry_also && call->retry_also(err);
  auto step = ra::detail::next_redirect_step(err, call->target, call->original, transient);
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
      auto pause = std::max(std::min(ra::detail::redirect_retry_pause, left), ms{1});
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
    after_failure(call, make_api_error(api_errc::noproc, call->target.to_string() + " is not running"));
    return;
  }
  call->attempt(a, call->target, left, [call](std::optional<api_error> err) {
    if (!err)
      call->finished(done{});
    else
      after_failure(call, std::move(*err));
  });
}

/// Runs `attempt` against `id` and then against the leaders it is redirected to, until
/// one succeeds, an error that is not about the leader comes back, or the timeout.
void redirecting(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout, attempt_fn attempt,
                 callback<done> finished, std::function<bool(const api_error&)> retry_also = {}) {
  auto call = std::make_shared<redirect_call>(redirect_call{self, &sys, id, id, self->clock().now() + timeout,
                                                            std::move(attempt), std::move(retry_also),
                                                            std::move(finished), std::nullopt});
  attempt_once(call);
}

}  // namespace

// -- servers -------------------------------------------------------------------------------

void trigger_election(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                      callback<done> then) {
  auto a = sys.lookup(id);
  if (!a) return then(make_api_error(api_errc::noproc, id.to_string() + " is not running"));
  self->request(a, timeout, election_atom::value)
    .then([then](caf::ok_atom) { then(done{}); }, [then, id](caf::error& e) { then(from_caf(e, id)); });
}

// -- commands ------------------------------------------------------------------------------

namespace {

/// Sends `request` to `a` as a request from `self` and reports its command_result:
/// a refusal becomes api_errc::command; success hands the result to `keep`.
template <class... Ts>
void request_command(caf::event_based_actor* self, const caf::actor& a, const server_id& to, ms left,
                     const std::function<void(const command_result&)>& keep, const attempt_done& done,
                     Ts&&... request) {
  self->request(a, left, std::forward<Ts>(request)...)
    .then(
      [keep, done](const command_result& r) {
        if (r.failed) return done(from_command(r.error));
        keep(r);
        done(std::nullopt);
      },
      [done, to](caf::error& e) { done(from_caf(e, to)); });
}

}  // namespace

void process_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                         ms timeout, callback<raw_reply> then) {
  auto out = std::make_shared<raw_reply>();
  auto attempt = [self, out, command](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    auto keep = [out](const command_result& r) { *out = raw_reply{r.reply, r.leader, r.index, r.term}; };
    request_command(self, a, to, left, keep, done, command_atom::value, command,
                    static_cast<uint8_t>(reply_mode::await_consensus));
  };
  redirecting(self, sys, id, timeout, attempt, [out, then](status st) {
    if (!st) return then(std::move(*st.error));
    then(std::move(*out));
  });
}

status pipeline_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                            uint64_t correlation, command_priority priority) {
  auto a = sys.lookup(id);
  if (!a) return make_api_error(api_errc::noproc, id.to_string() + " is not running");
  self->send(a, pipeline_atom::value, std::move(command), correlation, static_cast<uint8_t>(priority),
             caf::actor_cast<caf::actor>(self));
  return done{};
}

// -- queries ---------------------------------------------------------------------------------

void query_raw(caf::event_based_actor* self, system& sys, const server_id& id, query_kind kind, query_fn fn,
               ms timeout, callback<query_reply<std::any>> then) {
  auto out = std::make_shared<query_reply<std::any>>();
  auto attempt = [self, out, kind, fn](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    self->request(a, left, query_atom::value, query_msg{kind, fn})
      .then(
        [out, done](const query_result& r) {
          if (r.failed) return done(from_command(r.error));
          *out = query_reply<std::any>{r.value, r.leader};
          done(std::nullopt);
        },
        [done, to](caf::error& e) { done(from_caf(e, to)); });
  };
  auto finished = [out, then](status st) {
    if (!st) return then(std::move(*st.error));
    then(std::move(*out));
  };
  if (kind != query_kind::local) return redirecting(self, sys, id, timeout, attempt, finished);
  // A local query reads this very server: no redirect, no retry.
  auto a = sys.lookup(id);
  if (!a) return then(make_api_error(api_errc::noproc, id.to_string() + " is not running"));
  attempt(a, id, timeout, [finished](std::optional<api_error> err) {
    if (err)
      finished(std::move(*err));
    else
      finished(done{});
  });
}

// -- membership ------------------------------------------------------------------------------

namespace {

/// Asks `who` for its member list (nullopt: not running or no answer by the deadline).
void ask_members(caf::event_based_actor* self, system& sys, const server_id& who, time_point deadline,
                 std::function<void(std::optional<members_result>)> next) {
  auto a = sys.lookup(who);
  if (!a) return next(std::nullopt);
  self->request(a, std::max(left_until(self, deadline), ms{1}), members_atom::value)
    .then([next](const members_result& r) { next(r); }, [next](caf::error&) { next(std::nullopt); });
}

}  // namespace

void members(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
             callback<cluster_members> then) {
  const auto deadline = self->clock().now() + timeout;
  ask_members(self, sys, id, deadline, [self, sysp = &sys, id, deadline, then](std::optional<members_result> mine) {
    if (!mine) return then(make_api_error(api_errc::noproc, id.to_string() + " is not running or did not answer"));
    if (mine->leader.empty() || mine->leader == id) return then(cluster_members{mine->members, mine->leader});
    // Prefer the leader's view: it has the newest configuration.
    ask_members(self, *sysp, mine->leader, deadline, [mine = *mine, then](std::optional<members_result> theirs) {
      if (theirs && theirs->server_role == role::leader) return then(cluster_members{theirs->members, mine.leader});
      then(cluster_members{mine.members, mine.leader});
    });
  });
}

namespace {

void change_membership(caf::event_based_actor* self, system& sys, const server_id& id, membership_op op,
                       const member& target, ms timeout, callback<server_id> then) {
  auto leader = std::make_shared<server_id>();
  auto attempt = [self, leader, op, target](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    auto keep = [leader](const command_result& r) { *leader = r.leader; };
    request_command(self, a, to, left, keep, done, membership_atom::value, static_cast<uint8_t>(op), target);
  };
  redirecting(
    self, sys, id, timeout, attempt,
    [leader, then](status st) {
      if (!st) return then(std::move(*st.error));
      then(*leader);
    },
    // A new leader cannot change the membership before its noop commits: wait for it.
    [](const api_error& e) { return e.is(error_code::cluster_change_not_permitted); });
}

}  // namespace

void add_member(caf::event_based_actor* self, system& sys, const server_id& id, const member& new_member, ms timeout,
                callback<server_id> then) {
  change_membership(self, sys, id, membership_op::add, new_member, timeout, std::move(then));
}

void remove_member(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                   ms timeout, callback<server_id> then) {
  change_membership(self, sys, id, membership_op::remove, member{target}, timeout, std::move(then));
}

void transfer_leadership(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                         ms timeout, callback<done> then) {
  auto attempt = [self, target](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    request_command(self, a, to, left, [](const command_result&) {}, done, transfer_atom::value, target);
  };
  redirecting(self, sys, id, timeout, attempt, std::move(then));
}

}  // namespace ra::async
