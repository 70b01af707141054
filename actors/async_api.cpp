#include "actors/async_api.hpp"

#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/api_detail.hpp"
#include "actors/messages.hpp"
#include "actors/server_data.hpp"
#include "actors/system_core.hpp"

namespace ra::async {

namespace {

using namespace ra::actors;
using ra::detail::from_caf;
using ra::detail::from_command;
using ms = std::chrono::milliseconds;
using time_point = caf::actor_clock::time_point;

using pause_atom = caf::atom_constant<caf::atom("ra_apause")>;
using resume_atom = caf::atom_constant<caf::atom("ra_aresume")>;
using await_down_atom = caf::atom_constant<caf::atom("ra_adown")>;

/// How often a call that waits for a condition outside any actor's reach (e.g. servers
/// gone from the directory) checks it again (actor clock). As the blocking API's polls.
constexpr ms poll_interval{5};

// -- pauses without blocking ---------------------------------------------------------------

/// A one-shot timer actor. The caller cannot use delayed_send to itself (its behaviour
/// belongs to the user and has no handler for our tick), so it requests (pause_atom, ms)
/// from this helper, which answers after that long (on the actor clock) and quits.
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

/// Runs `next` inside `self` after `delay` (never, if self terminates first).
void after_pause(caf::event_based_actor* self, ms delay, std::function<void()> next) {
  auto timer = self->spawn(pause_timer, static_cast<uint64_t>(delay.count()));
  // The helper answers after the delay; an error (it died) must not lose the retry either.
  self->request(timer, caf::infinite, pause_atom::value)
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

// -- helpers of the calls below --------------------------------------------------------------

namespace {

api_error not_running(const server_id& id) { return make_api_error(api_errc::noproc, id.to_string() + " is not running"); }

/// Calls then(true) once `ready()` holds (checked now, then every poll_interval on the
/// actor clock), or then(false) once the deadline passed without it.
void poll_until(caf::event_based_actor* self, time_point deadline, std::function<bool()> ready,
                std::function<void(bool)> then) {
  if (ready()) return then(true);
  auto left = left_until(self, deadline);
  if (left.count() <= 0) return then(false);
  after_pause(self, std::min(poll_interval, left),
              [self, deadline, ready = std::move(ready), then = std::move(then)]() mutable {
                poll_until(self, deadline, std::move(ready), std::move(then));
              });
}

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

/// The async counterpart of system::stop_server for a server of this node: sends it an
/// exit (user_shutdown, as stop_server does), waits until its actor is down, and then
/// clears its directory entry (the actor's exit hook does so too, but it may still be
/// running when the down message arrives on another thread).
void stop_local_server(caf::event_based_actor* self, system& sys, const server_id& id, time_point deadline,
                       callback<done> then) {
  auto core = ra::detail::find_system(sys.name());
  if (!core) return then(make_api_error(api_errc::noproc, "system " + sys.name() + " stopped"));
  auto a = id.node == sys.name() ? core->find(id.name) : caf::actor{};
  if (!a) return then(not_running(id));
  auto left = std::max(left_until(self, deadline), ms{1});
  self->send_exit(a, caf::exit_reason::user_shutdown);
  auto waiter = self->spawn(down_waiter, a, left);
  auto forget = [core, name = id.name, addr = a.address()] { core->forget_actor(name, addr); };
  self->request(waiter, left, await_down_atom::value)
    .then(
      [forget, then](caf::ok_atom) {
        forget();
        then(done{});
      },
      [forget, then, id](caf::error&) {
        forget();
        then(make_api_error(api_errc::timeout, id.to_string() + " did not stop"));
      });
}

/// The async counterpart of system::delete_server's second half: deletes the data of a
/// server of this node that is not running, and forgets it.
status delete_stopped_server(system& sys, const server_id& id) {
  auto core = ra::detail::find_system(sys.name());
  std::string uid = sys.uid_of(id.name);
  if (!core || uid.empty()) return make_api_error(api_errc::noproc, "unknown server " + id.to_string());
  if (auto err = ra::detail::delete_server_data(*core, id.name, uid); !err.empty())
    return make_api_error(api_errc::storage, err);
  return done{};
}

/// Asks server `id` (no redirect) for (wait_applied_atom, index): answered once it
/// applied the log up to `index`.
void wait_applied(caf::event_based_actor* self, system& sys, const server_id& id, index_t index, ms timeout,
                  callback<done> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  self->request(a, std::max(timeout, ms{1}), wait_applied_atom::value, index)
    .then([then](caf::ok_atom, index_t) { then(done{}); }, [then, id](caf::error& e) { then(from_caf(e, id)); });
}

}  // namespace

// -- more lifecycle ----------------------------------------------------------------------------

void delete_cluster(caf::event_based_actor* self, system& sys, const std::vector<server_id>& ids, ms timeout,
                    callback<done> then) {
  if (ids.empty()) return then(make_api_error(api_errc::invalid_argument, "delete_cluster needs the cluster's members"));
  const auto deadline = self->clock().now() + timeout;
  // Ask the first member that runs (any member redirects to the leader).
  server_id ask = ids.front();
  for (auto& id : ids)
    if (sys.lookup(id)) {
      ask = id;
      break;
    }
  auto attempt = [self](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    request_command(self, a, to, left, [](const command_result&) {}, done, delete_cluster_atom::value);
  };
  redirecting(self, sys, ask, timeout, attempt, [self, sysp = &sys, ids, deadline, then](status st) {
    if (!st) return then(std::move(*st.error));
    // The leader applied the entry; each local member stops and deletes its data as it
    // applies it too (in its exit hook), which no message reports to us: poll.
    auto gone = [sysp, ids] {
      for (auto& id : ids)
        if (id.node == sysp->name() && (sysp->is_running(id.name) || !sysp->uid_of(id.name).empty())) return false;
      return true;
    };
    poll_until(self, deadline, gone, [then](bool ok) {
      if (!ok)
        return then(make_api_error(api_errc::timeout, "the cluster was deleted but not every local member is gone yet"));
      then(done{});
    });
  });
}

void leave_and_terminate(caf::event_based_actor* self, system& sys, const server_id& id, const server_id& target,
                         ms timeout, callback<done> then) {
  const auto deadline = self->clock().now() + timeout;
  remove_member(self, sys, id, target, timeout, [self, sysp = &sys, target, deadline, then](result<server_id> r) {
    if (!r) return then(std::move(*r.error));
    // A member of another node is stopped there; a stopped one has nothing left to do.
    if (target.node != sysp->name() || !sysp->is_running(target.name)) return then(done{});
    stop_local_server(self, *sysp, target, deadline, then);
  });
}

void leave_and_delete_server(caf::event_based_actor* self, system& sys, const server_id& id,
                             const server_id& target, ms timeout, callback<done> then) {
  const auto deadline = self->clock().now() + timeout;
  remove_member(self, sys, id, target, timeout, [self, sysp = &sys, target, deadline, then](result<server_id> r) {
    if (!r) return then(std::move(*r.error));
    if (target.node != sysp->name()) return then(done{});
    auto remove_data = [sysp, target, then](status stopped) {
      if (!stopped) return then(std::move(*stopped.error));
      then(delete_stopped_server(*sysp, target));
    };
    if (!sysp->is_running(target.name)) return remove_data(done{});
    stop_local_server(self, *sysp, target, deadline, remove_data);
  });
}

// -- commands with options ------------------------------------------------------------------

void process_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command,
                         const command_options& opts, ms timeout, callback<raw_reply> then) {
  if (opts.mode == reply_mode::notify)
    return then(make_api_error(api_errc::invalid_argument, "reply mode notify: use pipeline_command"));
  if (opts.from == reply_from::local && id.node != sys.name())
    return then(make_api_error(api_errc::invalid_argument, "reply_from local: " + id.to_string() + " is not on this node"));
  if (opts.from == reply_from::member && opts.reply_member.empty())
    return then(make_api_error(api_errc::invalid_argument, "reply_from member needs reply_member"));
  if (opts.mode == reply_mode::noreply) {
    auto a = sys.lookup(id);
    if (!a) return then(not_running(id));
    // anon_send, not self->send: the server keeps a response promise even for noreply
    // commands and fulfils it with an error when it stops, which must not land in the
    // caller's behaviour as an unexpected message.
    caf::anon_send(a, command_atom::value, std::move(command), static_cast<uint8_t>(reply_mode::noreply));
    return then(raw_reply{});
  }
  const auto deadline = self->clock().now() + timeout;
  auto out = std::make_shared<raw_reply>();
  const auto mode = static_cast<uint8_t>(opts.mode);
  auto attempt = [self, out, command, mode](const caf::actor& a, const server_id& to, ms left, attempt_done done) {
    auto keep = [out](const command_result& r) { *out = raw_reply{r.reply, r.leader, r.index, r.term}; };
    request_command(self, a, to, left, keep, done, command_atom::value, command, mode);
  };
  // The member whose application the caller waits for, if not (only) the leader's.
  std::optional<server_id> wait_for;
  if (opts.mode == reply_mode::await_consensus && opts.from != reply_from::leader)
    wait_for = opts.from == reply_from::local ? id : opts.reply_member;
  redirecting(self, sys, id, timeout, attempt, [self, sysp = &sys, out, wait_for, deadline, then](status st) {
    if (!st) return then(std::move(*st.error));
    if (!wait_for) return then(std::move(*out));
    wait_applied(self, *sysp, *wait_for, out->index, left_until(self, deadline), [out, then](status applied) {
      if (!applied) return then(std::move(*applied.error));
      then(std::move(*out));
    });
  });
}

// -- aux and member details ------------------------------------------------------------------

void aux_command_raw(caf::event_based_actor* self, system& sys, const server_id& id, shared_bytes command, ms timeout,
                     callback<shared_bytes> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  self->request(a, timeout, aux_atom::value, std::move(command))
    .then(
      [then](const command_result& r) {
        if (r.failed) return then(from_command(r.error));
        then(r.reply);
      },
      [then, id](caf::error& e) { then(from_caf(e, id)); });
}

void member_overview(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                     callback<nlohmann::json> then) {
  auto a = sys.lookup(id);
  if (!a) return then(not_running(id));
  self->request(a, timeout, overview_atom::value)
    .then(
      [then, id](const std::string& dump) {
        auto j = nlohmann::json::parse(dump, nullptr, false);
        if (j.is_discarded())
          return then(make_api_error(api_errc::bad_reply, "overview of " + id.to_string() + " is not JSON"));
        then(std::move(j));
      },
      [then, id](caf::error& e) { then(from_caf(e, id)); });
}

void members_info(caf::event_based_actor* self, system& sys, const server_id& id, ms timeout,
                  callback<members_detail> then) {
  const auto deadline = self->clock().now() + timeout;
  members(self, sys, id, timeout, [self, sysp = &sys, deadline, then](result<cluster_members> m) {
    if (!m) return then(std::move(*m.error));
    if (m->leader.empty()) return then(ra::detail::to_members_detail(*m, nlohmann::json{}));
    member_overview(self, *sysp, m->leader, std::max(left_until(self, deadline), ms{1}),
                    [m = *m, then](result<nlohmann::json> ov) {
                      // Without the leader's view the members are still worth reporting.
                      then(ra::detail::to_members_detail(m, ov ? *ov : nlohmann::json{}));
                    });
  });
}

}  // namespace ra::async
