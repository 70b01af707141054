#pragma once
// A ra::system on CAF's deterministic test coordinator, for Catch2 tests
// (TEST_CASE_METHOD(ra::test::coordinator_fixture, ...)).
//
// Every actor of the system (servers, WAL, segment writer, clients) runs on the test
// thread, one message at a time, in an order fixed by the test; timers (elections,
// request timeouts, retry pauses) fire in simulated time, so a test never sleeps and an
// election takes no wall time. Storage is real (a temp dir; fsync included).
//
// Driving the simulation:
//   run_until(pred)        dispatch messages and fire timers until pred() (or a limit)
//   advance(d)             let d of simulated time pass
//   call<T>(start)         run an async API call (ra/async_api.hpp) from a client
//                          actor and return its result once it arrives
//   blocking(f)            run a blocking ra::system function (start_server, stop_server,
//                          restart_server ...): its scoped_actor cannot wait for the test
//                          thread, so every message sent meanwhile is handled inline
// Partitions: isolate(id) drops every peer message between `id` and the other servers
// until heal() (clients still reach it); the leader_down path (send_leader_down) stands
// in for the failure detector, which only reports actors that have gone.
//
// What does not work here: snapshots (the snapshot worker spawns a detached helper: keep
// server_defaults.min_snapshot_interval above the number of commands) and anything else
// that spawns detached actors or blocks on a scoped_actor outside blocking(). Inside
// blocking() messages run but timers do not fire: a blocking call that needs an election
// or a retry pause to complete waits for its real-time bound (a blocking API call:
// timeout + detail::blocking_grace, then api_errc::timeout). Prefer the async API.
//
// Adding tests: machines other than "counter" are registered with
// sys().register_machine(name, factory) (or in a config passed to start_system). A
// restart on the same data dir (e.g. a machine version upgrade) is stop_system(), then
// start_system(cfg) with cfg = make_config() plus the new machines, then
// blocking([&] { return sys().restart_server(id); }) per server. A test actor (e.g. one a
// machine monitors) is spawned with sys().actor_system().spawn(...), ended with
// caf::anon_send_exit, and observed through a shared_ptr it writes to.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <spdlog/spdlog.h>

#include "ra/api.hpp"
#include "ra/async_api.hpp"
#include "actors/messages.hpp"
#include "ra/machines/counter.hpp"
#include "test/actors/runtime_fixture.hpp"

namespace ra::test {

using namespace std::chrono_literals;

class coordinator_fixture {
 public:
  using ms = std::chrono::milliseconds;
  /// How long (simulated) run_until waits by default before it gives up.
  static constexpr caf::timespan default_limit = std::chrono::seconds(60);
  /// The timeout of the fixture's API calls (simulated).
  static constexpr ms call_timeout{5000};

  coordinator_fixture() {
    // RA_TEST_LOG=info shows the servers' role changes when a test needs debugging.
    const char* level = std::getenv("RA_TEST_LOG");
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
    start_system(make_config());
  }
  ~coordinator_fixture() { stop_system(); }
  coordinator_fixture(const coordinator_fixture&) = delete;
  coordinator_fixture& operator=(const coordinator_fixture&) = delete;

  // -- the system ----------------------------------------------------------------------------

  /// The config the fixture starts with: node "n1" on the temp dir, the counter machine
  /// as "counter", the fast timers of actor_tests. start_system adds the test scheduler.
  system_config make_config(const std::string& node = "n1") const {
    system_config c;
    c.name = node;
    c.data_dir = dir_.path() + "/" + node;
    c.server_defaults.broadcast_time_ms = 20;
    c.server_defaults.detector_poll_ms = 200;
    c.server_defaults.tick_timeout_ms = 100;
    c.machines["counter"] = [](const std::string&) { return make_machine<machines::counter>(); };
    return c;
  }

  /// Starts the system (after stop_system, e.g. to restart on the same data dir) with
  /// CAF's test coordinator and the storage actors as scheduled actors.
  void start_system(system_config cfg) {
    auto user_hook = std::move(cfg.configure_caf);
    cfg.configure_caf = [user_hook](caf::actor_system_config& c) {
      c.set("scheduler.policy", caf::atom("testing"));
      if (user_hook) user_hook(c);
    };
    cfg.detached_storage_actors = false;
    auto s = ra::system::start(std::move(cfg));
    if (!s) FAIL("system start failed: " << s.error().to_string());
    sys_ = std::move(*s);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->actor_system().scheduler());
  }

  /// Stops the system (every server, the WAL, the segment writer, the actor system).
  void stop_system() {
    if (!sys_) return;
    // Client actors still waiting for an answer must not hold up the shutdown.
    sys_->actor_system().await_actors_before_shutdown(false);
    heal();
    run_jobs();
    // Not blocking(): the hook must not be reset on a coordinator that is gone by then.
    run_enqueued_inline();
    sys_->stop();
    sys_.reset();
    sched_ = nullptr;
  }

  ra::system& sys() { return *sys_; }
  caf::scheduler::test_coordinator& sched() { return *sched_; }
  caf::actor_clock::time_point now() { return sched_->clock().now(); }

  // -- driving the simulation -------------------------------------------------------------

  /// One event: the next message (FIFO over actors), or else the earliest timer (the
  /// simulated clock jumps to it). False if nothing is left to do.
  bool step() {
    drop_partitioned_messages();
    if (sched_->has_job()) {
      sched_->run_once();
      return true;
    }
    if (sched_->has_pending_timeout()) {
      sched_->trigger_timeout();
      return true;
    }
    return false;
  }

  /// Runs events until `done()` holds. False if it still does not hold after `limit` of
  /// simulated time, after `max_events`, or once nothing is left to happen.
  bool run_until(const std::function<bool()>& done, caf::timespan limit = default_limit,
                 size_t max_events = 2'000'000) {
    const auto deadline = now() + limit;
    for (size_t i = 0; i < max_events; ++i) {
      if (done()) return true;
      if (now() > deadline || !step()) return done();
    }
    return done();
  }

  /// Dispatches messages until none is waiting (fires no timer).
  void run_jobs() {
    for (;;) {
      drop_partitioned_messages();
      if (!sched_->has_job()) return;
      sched_->run_once();
    }
  }

  /// Lets at least `d` of simulated time pass (events in between run in order; the
  /// last one may lie a little beyond).
  void advance(caf::timespan d) {
    const auto target = now() + d;
    run_until([&] { return now() >= target; }, d + std::chrono::seconds(1));
    if (now() < target) {
      sched_->advance_time(target - now());
      run_jobs();
    }
  }

  /// Runs a blocking ra::system call (start_server, stop_server, restart_server ...).
  /// Its scoped_actor waits on the test thread, so while it runs every enqueued actor is
  /// run at once, inline (deterministic still: depth-first instead of FIFO). The actors
  /// must be idle first, or a message to a queued actor would never be handled.
  template <class F>
  auto blocking(F&& f) {
    run_jobs();
    run_enqueued_inline();
    struct back_to_fifo {
      caf::scheduler::test_coordinator& s;
      ~back_to_fifo() { s.after_next_enqueue(std::function<void()>{}); }
    } guard{*sched_};
    return f();
  }

  /// Runs an async API call from a fresh client actor: `start(self, done)` issues it,
  /// done(result<T>) ends the client. Returns the result, or api_errc::timeout if none
  /// arrived within `limit` of simulated time.
  template <class T, class Start>
  result<T> call(Start start, caf::timespan limit = default_limit) {
    auto out = std::make_shared<std::optional<result<T>>>();
    // The dummy int: CAF 0.17 dereferences a null argument tuple for argument-less functors.
    sys_->actor_system().spawn([start, out](caf::event_based_actor* self, int) -> caf::behavior {
      start(self, async::callback<T>{[self, out](result<T> r) {
              *out = std::move(r);
              self->quit();
            }});
      return {[](caf::ok_atom) {}};  // the client only waits for its answer
    }, 0);
    if (!run_until([&] { return out->has_value(); }, limit))
      return make_api_error(api_errc::timeout, "the test gave up waiting (simulated time)");
    return std::move(**out);
  }

  // -- servers and clusters ----------------------------------------------------------------

  std::vector<server_id> ids(std::initializer_list<const char*> names) const {
    std::vector<server_id> out;
    for (auto n : names) out.push_back(server_id{n, sys_->name()});
    return out;
  }

  static std::vector<member> voters(const std::vector<server_id>& ids) {
    std::vector<member> out;
    for (auto& id : ids) out.push_back(member{id});
    return out;
  }

  /// Starts one server through the system (REQUIREs success).
  void start_server(const std::string& cluster, const server_id& id, const std::vector<member>& members,
                    const std::string& machine = "counter") {
    auto st = blocking([&] { return sys_->start_server(cluster, id, machine, members); });
    if (!st) FAIL("start_server " << id.to_string() << ": " << st.error().to_string());
  }

  /// Starts `ids` as a new cluster, triggers an election on the first and waits for a
  /// leader. Returns the leader.
  server_id start_cluster(const std::string& cluster, const std::vector<server_id>& ids,
                          const std::string& machine = "counter") {
    for (auto& id : ids) start_server(cluster, id, voters(ids), machine);
    auto st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
      async::trigger_election(self, *sys_, ids.front(), call_timeout, std::move(then));
    });
    if (!st) FAIL("trigger_election: " << st.error().to_string());
    auto leader = await_leader(ids);
    if (leader.empty()) FAIL("no leader elected");
    return leader;
  }

  /// What server `id` says about itself (nullopt: not running or no answer).
  std::optional<actors::members_result> probe(const server_id& id) {
    auto a = sys_->lookup(id);
    if (!a) return std::nullopt;
    auto r = call<actors::members_result>([a](caf::event_based_actor* self, auto then) {
      self->request(a, call_timeout, actors::members_atom::value)
        .then([then](const actors::members_result& m) { then(m); },
              [then](caf::error&) { then(make_api_error(api_errc::noproc)); });
    });
    if (!r) return std::nullopt;
    return *r;
  }

  /// The server among `ids` that is leader now (empty if none).
  server_id find_leader(const std::vector<server_id>& ids) {
    for (auto& id : ids)
      if (auto p = probe(id); p && p->server_role == role::leader) return id;
    return {};
  }

  /// Waits until one of `ids` is leader (empty if none within `limit`).
  server_id await_leader(const std::vector<server_id>& ids, caf::timespan limit = default_limit) {
    server_id found;
    eventually([&] { return !(found = find_leader(ids)).empty(); }, limit);
    return found;
  }

  /// Polls `check` (which may run calls) every `poll` of simulated time until it holds.
  bool eventually(const std::function<bool()>& check, caf::timespan limit = default_limit,
                  caf::timespan poll = std::chrono::milliseconds(50)) {
    const auto deadline = now() + limit;
    while (!check()) {
      if (now() > deadline) return false;
      advance(poll);
    }
    return true;
  }

  // -- the counter machine -------------------------------------------------------------------

  /// process_command through the async API.
  result<command_reply<int64_t>> add(const server_id& to, int64_t n, ms timeout = call_timeout) {
    return call<command_reply<int64_t>>([&, to, n, timeout](caf::event_based_actor* self, auto then) {
      async::process_command<int64_t>(self, *sys_, to, n, timeout, std::move(then));
    });
  }

  /// The counter value `id` holds now (local_query; nullopt if it does not answer).
  std::optional<int64_t> local_value(const server_id& id) {
    auto r = call<query_reply<int64_t>>([&, id](caf::event_based_actor* self, auto then) {
      async::local_query<int64_t>(self, *sys_, id, [](const int64_t& s) { return s; }, call_timeout,
                                  std::move(then));
    });
    if (!r) return std::nullopt;
    return r->value;
  }

  /// A consistent query of the counter through the async API.
  result<query_reply<int64_t>> consistent_value(const server_id& id, ms timeout = call_timeout) {
    return call<query_reply<int64_t>>([&, id, timeout](caf::event_based_actor* self, auto then) {
      async::consistent_query<int64_t>(self, *sys_, id, [](const int64_t& s) { return s; }, timeout,
                                       std::move(then));
    });
  }

  /// Waits until every one of `ids` holds `value`.
  bool await_values(const std::vector<server_id>& ids, int64_t value, caf::timespan limit = default_limit) {
    return eventually(
      [&] {
        for (auto& id : ids)
          if (local_value(id) != value) return false;
        return true;
      },
      limit);
  }

  // -- partitions and failure detection ------------------------------------------------------

  /// Cuts `id` off from the other servers: peer messages between it and them (already
  /// queued or sent later) are dropped until heal().
  void isolate(const server_id& id) { isolated_.insert(id); }
  void heal() { isolated_.clear(); }

  /// Tells `to` that `leader` is down, as the failure detector would (the leader_down
  /// path; the server acts on it only if `leader` is the leader it follows).
  void send_leader_down(const server_id& to, const server_id& leader) {
    if (auto a = sys_->lookup(to)) caf::anon_send(a, actors::leader_down_atom::value, leader);
  }

 private:
  /// From now on every enqueue of an actor runs the scheduler until no job is left.
  /// (CAF's inline_all_enqueues runs one message of the enqueued actor only: an actor
  /// left with more messages stays queued, and a message a blocking call then sends to
  /// it would wait for the test thread, which waits for the answer.)
  void run_enqueued_inline() {
    sched_->after_next_enqueue([this] {
      run_enqueued_inline();
      run_jobs();
    });
  }

  /// Removes the queued peer messages that cross the partition from every server's
  /// mailbox (called before each event, so none of them is ever handled).
  void drop_partitioned_messages() {
    if (isolated_.empty()) return;
    for (auto& name : sys_->known_servers()) {
      server_id receiver{name, sys_->name()};
      auto hdl = sys_->lookup(receiver);
      auto* actor = dynamic_cast<caf::scheduled_actor*>(caf::actor_cast<caf::abstract_actor*>(hdl));
      if (!actor) continue;
      auto& mailbox = actor->mailbox();
      // A blocked mailbox is empty, and fetching from it would unblock it without
      // scheduling the actor: it would never run again.
      if (mailbox.blocked()) continue;
      mailbox.fetch_more();
      const bool receiver_isolated = isolated_.count(receiver) > 0;
      auto& queue = std::get<caf::scheduled_actor::normal_queue_index>(mailbox.queue().queues());
      using element_ptr = typename std::remove_reference_t<decltype(queue)>::unique_pointer;
      std::vector<element_ptr> kept;
      while (auto element = queue.take_front()) {
        auto& content = element->content();
        bool crosses = content.size() >= 2 && content.match_element<actors::peer_atom>(0) &&
                       content.match_element<server_id>(1) &&
                       (isolated_.count(content.get_as<server_id>(1)) > 0) != receiver_isolated;
        if (!crosses) kept.push_back(std::move(element));
      }
      for (auto& element : kept) queue.push_back(std::move(element));
    }
  }

  temp_dir dir_;
  std::unique_ptr<ra::system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::set<server_id> isolated_;
};

}  // namespace ra::test
