// The actor runtime and the async API (ra/async_api.hpp) under CAF's deterministic
// test coordinator: one thread, simulated time, real files. See coordinator_fixture.hpp.
// Which server wins an election still varies between runs (the system seeds each
// server's PRNG at random), so the tests assert what must hold whoever wins.

#include "test/actors/coordinator_fixture.hpp"

#include <algorithm>

#include "actors/api/blocking_call.hpp"
#include "actors/server_actor.hpp"
#include "ra/codec.hpp"

using namespace ra;
using namespace ra::test;
using namespace std::chrono_literals;

namespace {

bool is_voter(const cluster_members& m, const server_id& id) {
  return std::any_of(m.members.begin(), m.members.end(),
                     [&](const member& x) { return x.id == id && x.kind == membership::voter; });
}

bool is_member(const cluster_members& m, const server_id& id) {
  return std::any_of(m.members.begin(), m.members.end(), [&](const member& x) { return x.id == id; });
}

server_id other_than(const std::vector<server_id>& ids, const server_id& not_this) {
  return ids[0] == not_this ? ids[1] : ids[0];
}

}  // namespace

TEST_CASE_METHOD(coordinator_fixture, "coordinator: a fresh cluster elects a leader once an election is triggered",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  for (auto& id : servers) start_server("c1", id, voters(servers));
  // Ra's servers do not start elections on their own: without a trigger, no leader.
  advance(5s);
  CHECK(find_leader(servers).empty());

  const auto before = now();
  auto st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    async::trigger_election(self, sys(), servers[0], call_timeout, std::move(then));
  });
  REQUIRE(st);
  auto leader = await_leader(servers);
  REQUIRE(!leader.empty());
  // Pre-vote and vote take a few message round trips and no timeout.
  CHECK(now() - before < caf::timespan{1s});
  // Everyone agrees.
  for (auto& id : servers) {
    auto p = probe(id);
    REQUIRE(p);
    CHECK(p->leader == leader);
    CHECK((p->server_role == role::leader) == (id == leader));
  }
  auto m = call<cluster_members>([&](caf::event_based_actor* self, async::callback<cluster_members> then) {
    async::members(self, sys(), other_than(servers, leader), call_timeout, std::move(then));
  });
  REQUIRE(m);
  CHECK(m->leader == leader);
  CHECK(m->members.size() == 3);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: commands through any member replicate to every member",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  int64_t expected = 0;
  for (int i = 1; i <= 10; ++i) {
    // Sent round-robin, so two of three go to a follower and are redirected.
    auto r = add(servers[i % 3], i);
    REQUIRE(r);
    expected += i;
    CHECK(r->reply == expected);
    CHECK(r->leader == leader);
  }
  CHECK(expected == 55);
  CHECK(await_values(servers, 55));
  auto lq = call<query_reply<int64_t>>([&](caf::event_based_actor* self, auto then) {
    async::leader_query<int64_t>(self, sys(), other_than(servers, leader), [](const int64_t& s) { return s * 2; },
                                 call_timeout, std::move(then));
  });
  REQUIRE(lq);
  CHECK(lq->value == 110);
  CHECK(lq->leader == leader);

  // Errors are results: an unknown server, and a reply of the wrong type.
  auto unknown = add(server_id{"nobody", sys().name()}, 1);
  REQUIRE(!unknown);
  CHECK(unknown.error().code == api_errc::noproc);
  auto wrong = call<command_reply<std::string>>([&](caf::event_based_actor* self, auto then) {
    async::process_command<std::string>(self, sys(), leader, int64_t{0}, call_timeout, std::move(then));
  });
  REQUIRE(!wrong);
  CHECK(wrong.error().code == api_errc::bad_reply);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: stopping the leader elects a new one and commands continue",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto old_leader = start_cluster("c1", servers);
  REQUIRE(add(old_leader, 5));
  auto st = blocking([&] { return sys().stop_server(old_leader); });
  REQUIRE(st);
  CHECK(!sys().is_running(old_leader.name));

  std::vector<server_id> survivors;
  for (auto& id : servers)
    if (id != old_leader) survivors.push_back(id);
  // Sent at once, while no leader is known: the call follows the survivor's stale hint
  // to the stopped leader (noproc), waits and asks again until a new leader answers.
  auto r = add(survivors[0], 7);
  REQUIRE(r);
  CHECK(r->reply == 12);
  CHECK(r->leader != old_leader);

  // The followers saw the leader's actor go (monitor) and elected one of them.
  auto new_leader = await_leader(survivors);
  REQUIRE(!new_leader.empty());
  CHECK(new_leader == r->leader);
  // A command sent to the stopped server's name fails at once.
  auto lost = add(old_leader, 1);
  REQUIRE(!lost);
  CHECK(lost.error().code == api_errc::noproc);

  // The old leader comes back from disk and catches up.
  auto restarted = blocking([&] { return sys().restart_server(old_leader); });
  REQUIRE(restarted);
  CHECK(await_values(servers, 12));
  auto r2 = add(old_leader, 3);
  REQUIRE(r2);
  CHECK(r2->reply == 15);
  CHECK(r2->leader == new_leader);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: without a quorum a command times out in simulated time",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  for (auto& id : servers)
    if (id != leader) REQUIRE(blocking([&] { return sys().stop_server(id); }));
  const auto asked = now();
  auto r = add(leader, 1, 3000ms);
  REQUIRE(!r);
  CHECK(r.error().code == api_errc::timeout);
  CHECK(now() - asked >= caf::timespan{3s});
  CHECK(now() - asked < caf::timespan{4s});
  CHECK(local_value(leader) == 1);  // appended, never committed
}

TEST_CASE_METHOD(coordinator_fixture,
                 "coordinator: a blocking call runs its async call inline, and ends at its real-time bound if it "
                 "cannot report",
                 "[coordinator][blocking]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  // Within blocking() the helper actor of the call runs inline, as the servers do.
  auto m = blocking([&] { return ra::members(sys(), other_than(servers, leader), 1s); });
  REQUIRE(m);
  CHECK(m->leader == leader);
  for (auto& id : servers)
    if (id != leader) REQUIRE(blocking([&] { return sys().stop_server(id); }));
  // Timers do not fire within blocking(): the async call's own 100 ms timeout never comes,
  // so only the adapter's bound (timeout + blocking_grace, real time) ends the wait.
  const auto asked = std::chrono::steady_clock::now();
  auto r = blocking([&] { return process_command<int64_t>(sys(), leader, int64_t{1}, 100ms); });
  const auto waited = std::chrono::steady_clock::now() - asked;
  REQUIRE(!r);
  CHECK(r.error().code == api_errc::timeout);
  CHECK(waited >= 100ms + detail::blocking_grace);
  CHECK(waited < 100ms + detail::blocking_grace + 5s);
  // The helper is gone, the simulation goes on: the command was appended, never committed.
  CHECK(local_value(leader) == 1);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: a promotable member is added, promoted to voter, then removed",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  for (int i = 0; i < 5; ++i) REQUIRE(add(leader, 10));

  server_id s4{"s4", sys().name()};
  auto with_s4 = voters(servers);
  with_s4.push_back(member{s4, membership::promotable});
  start_server("c1", s4, with_s4);
  auto added = call<server_id>([&](caf::event_based_actor* self, async::callback<server_id> then) {
    // Asked of a follower: redirected to the leader.
    async::add_member(self, sys(), other_than(servers, leader), member{s4, membership::promotable}, call_timeout,
                      std::move(then));
  });
  REQUIRE(added);
  CHECK(*added == leader);

  auto members_now = [&] {
    return call<cluster_members>([&](caf::event_based_actor* self, async::callback<cluster_members> then) {
      async::members(self, sys(), leader, call_timeout, std::move(then));
    });
  };
  // Once it caught up with the leader's log, the leader promotes it.
  CHECK(eventually([&] {
    auto m = members_now();
    return m && is_voter(*m, s4);
  }));
  CHECK(await_values({s4}, 50));
  auto r = add(s4, 1);  // through the new member
  REQUIRE(r);
  CHECK(r->reply == 51);

  // Remove a follower that is not the new member: three voters remain.
  server_id gone;
  for (auto& id : servers)
    if (id != leader) gone = id;
  auto removed = call<server_id>([&](caf::event_based_actor* self, async::callback<server_id> then) {
    async::remove_member(self, sys(), s4, gone, call_timeout, std::move(then));
  });
  REQUIRE(removed);
  CHECK(*removed == leader);
  auto m = members_now();
  REQUIRE(m);
  CHECK(m->members.size() == 4 - 1);
  CHECK(!is_member(*m, gone));
  CHECK(is_voter(*m, s4));
  auto r2 = add(leader, 1);
  REQUIRE(r2);
  CHECK(r2->reply == 52);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: leadership is transferred to a caught-up voter",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  server_id target = other_than(servers, leader);
  REQUIRE(await_values({target}, 1));

  // Sent to the target itself: redirected to the leader, which hands over.
  status st = make_api_error(api_errc::timeout);
  for (int attempt = 0; attempt < 20 && !st; ++attempt) {
    st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
      async::transfer_leadership(self, sys(), target, target, call_timeout, std::move(then));
    });
    // not_up_to_date until the leader heard the target acknowledge everything.
    if (!st) advance(50ms);
  }
  REQUIRE(st);
  CHECK(eventually([&] { return find_leader(servers) == target; }));
  auto r = add(leader, 1);  // the old leader redirects to the new one
  REQUIRE(r);
  CHECK(r->reply == 2);
  CHECK(r->leader == target);

  // Asking for a transfer to the leader itself is refused (already_leader).
  auto again = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    async::transfer_leadership(self, sys(), target, target, call_timeout, std::move(then));
  });
  REQUIRE(!again);
  CHECK(again.error().code == api_errc::command);
}

namespace {

/// What a pipelining client saw.
struct pipeline_log {
  std::vector<uint64_t> applied;      ///< correlations, in notification order
  std::vector<int64_t> replies;       ///< the counter after each applied command
  std::vector<uint64_t> rejected;
};

constexpr int64_t normal_increment = 1;
constexpr int64_t low_increment = 1000;

/// Pipelines 20 normal commands (correlations 1..20) and, after every second one, a
/// low-priority one (101..110) to `leader`, and records the notifications.
caf::behavior pipelining_client(caf::event_based_actor* self, ra::system* sys, server_id leader,
                                std::shared_ptr<pipeline_log> log) {
  for (uint64_t i = 1; i <= 20; ++i) {
    // A refusal here shows as a missing notification, which the test checks.
    (void)async::pipeline_command(self, *sys, leader, normal_increment, i);
    if (i % 2 == 0)
      (void)async::pipeline_command(self, *sys, leader, low_increment, 100 + i / 2, command_priority::low);
  }
  return {
    [log](actors::applied_atom, const actors::applied_batch& batch) {
      for (auto& [correlation, reply] : batch.applied) {
        log->applied.push_back(correlation);
        log->replies.push_back(decode<int64_t>(reply).value_or(-1));
      }
    },
    [log](actors::rejected_atom, uint64_t correlation, const command_error&) { log->rejected.push_back(correlation); },
  };
}

}  // namespace

TEST_CASE_METHOD(coordinator_fixture, "coordinator: pipelined commands are notified in order, low priority included",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  auto log = std::make_shared<pipeline_log>();
  sys().actor_system().spawn(pipelining_client, &sys(), leader, log);
  REQUIRE(run_until([&] { return log->applied.size() + log->rejected.size() >= 30; }));
  CHECK(log->rejected.empty());
  REQUIRE(log->applied.size() == 30);

  // Notifications follow the log: the counter value only grows.
  CHECK(std::is_sorted(log->replies.begin(), log->replies.end()));
  CHECK(std::adjacent_find(log->replies.begin(), log->replies.end()) == log->replies.end());
  CHECK(log->replies.back() == 20 * normal_increment + 10 * low_increment);
  // Each priority keeps its submission order.
  std::vector<uint64_t> normal, low;
  for (auto c : log->applied) (c > 100 ? low : normal).push_back(c);
  REQUIRE(normal.size() == 20);
  REQUIRE(low.size() == 10);
  for (uint64_t i = 0; i < 20; ++i) CHECK(normal[i] == i + 1);
  for (uint64_t i = 0; i < 10; ++i) CHECK(low[i] == 101 + i);
  CHECK(await_values(servers, 20 * normal_increment + 10 * low_increment));
}

TEST_CASE_METHOD(coordinator_fixture,
                 "coordinator: an isolated old leader does not answer a consistent query, the new leader does",
                 "[coordinator]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto old_leader = start_cluster("c1", servers);
  auto r = add(old_leader, 5);
  REQUIRE(r);
  REQUIRE(await_values(servers, 5));

  std::vector<server_id> majority;
  for (auto& id : servers)
    if (id != old_leader) majority.push_back(id);
  isolate(old_leader);
  // The failure detector of the majority side reports the old leader down.
  for (auto& id : majority) send_leader_down(id, old_leader);
  auto new_leader = await_leader(majority);
  REQUIRE(!new_leader.empty());
  auto r2 = add(new_leader, 7);
  REQUIRE(r2);
  CHECK(r2->reply == 12);

  // The old leader still believes it leads, but it cannot confirm that with a quorum.
  auto p = probe(old_leader);
  REQUIRE(p);
  CHECK(p->server_role == role::leader);
  const auto asked = now();
  auto stale = consistent_value(old_leader, 2000ms);
  REQUIRE(!stale);
  CHECK(stale.error().code == api_errc::timeout);
  CHECK(now() - asked >= caf::timespan{2s});
  CHECK(local_value(old_leader) == 5);  // a local query still answers, with stale data

  auto fresh = consistent_value(new_leader);
  REQUIRE(fresh);
  CHECK(fresh->value == 12);
  CHECK(fresh->leader == new_leader);

  // Healed, the old leader learns the new term, steps down and catches up.
  heal();
  CHECK(eventually([&] {
    auto q = consistent_value(old_leader, 500ms);  // redirected once it follows
    return q && q->value == 12 && q->leader == new_leader;
  }));
  CHECK(await_values(servers, 12));
}

// -- machine effects, versions and delete_cluster (simulated time) ------------------------------

#include "actors/pid.hpp"
#include "ra/machines/fifo.hpp"
#include "test/actors/test_machines.hpp"

namespace {

/// A consumer actor that records what the FIFO queue delivers to it.
caf::behavior recording_consumer(caf::event_based_actor*, std::shared_ptr<std::vector<std::string>> got) {
  return {[got](machines::fifo_delivery_atom, uint64_t, const std::string& payload) { got->push_back(payload); }};
}

}  // namespace

TEST_CASE_METHOD(coordinator_fixture, "coordinator: a monitored consumer's down becomes a command that re-delivers",
                 "[coordinator][effects]") {
  sys().register_machine("fifo", [](const std::string&) { return machines::make_fifo_machine(); });
  auto servers = ids({"q1", "q2", "q3"});
  auto leader = start_cluster("queue", servers, "fifo");
  auto submit = [&](const auto& cmd) {
    auto r = call<raw_reply>([&](caf::event_based_actor* self, auto then) {
      async::process_command_raw(self, sys(), servers[0], encode_command<machines::fifo_protocol>(cmd), call_timeout,
                                 std::move(then));
    });
    REQUIRE(r);
    return decode<uint64_t>(r->reply).value_or(999);
  };
  for (int i = 0; i < 3; ++i) submit(machines::fifo_enqueue{"m" + std::to_string(i)});
  auto got1 = std::make_shared<std::vector<std::string>>();
  auto got2 = std::make_shared<std::vector<std::string>>();
  auto c1 = sys().actor_system().spawn(recording_consumer, got1);
  auto c2 = sys().actor_system().spawn(recording_consumer, got2);
  CHECK(submit(machines::fifo_checkout{to_pid(sys(), c1), 2}) == 2);
  REQUIRE(run_until([&] { return got1->size() == 2; }));
  CHECK(*got1 == std::vector<std::string>{"m0", "m1"});
  CHECK(submit(machines::fifo_checkout{to_pid(sys(), c2), 5}) == 1);
  REQUIRE(run_until([&] { return got2->size() == 1; }));
  // c1 dies holding m0 and m1: the leader's monitor turns that into a down command,
  // which gives them back to the queue, and they go to c2 in order.
  caf::anon_send_exit(c1, caf::exit_reason::user_shutdown);
  REQUIRE(run_until([&] { return got2->size() == 3; }));
  CHECK(*got2 == std::vector<std::string>{"m2", "m0", "m1"});
  // Cancelling demonitors the consumer: its exit afterwards appends no down command.
  CHECK(submit(machines::fifo_cancel{to_pid(sys(), c2)}) == 3);
  REQUIRE(run_until([&] { return key_metrics(leader) && key_metrics(leader)->last_applied == key_metrics(leader)->last_index; }));
  const auto before = key_metrics(leader)->last_index;
  caf::anon_send_exit(c2, caf::exit_reason::user_shutdown);
  advance(1s);
  CHECK(key_metrics(leader)->last_index == before);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: a machine timer fires in simulated time and commits its timeout",
                 "[coordinator][effects]") {
  sys().register_machine("fx", [](const std::string&) { return make_machine<effect_counter>(); });
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers, "fx");
  REQUIRE(add(leader, 1));
  const auto armed_at = now();
  REQUIRE(add(leader, -1));  // arms timer "bump" (30 ms); its timeout command adds 100
  REQUIRE(await_values(servers, 101));
  CHECK(now() - armed_at >= caf::timespan{30ms});
  // The log effect: -2 sums the positive commands read back from the log (1 + 2) and
  // appends 1000 times that.
  REQUIRE(add(leader, 2));
  REQUIRE(add(leader, -2));
  CHECK(await_values(servers, 3103));
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: a rolling upgrade raises the machine version once all members run it",
                 "[coordinator][version]") {
  auto cfg = make_config();
  cfg.machines["vc"] = [](const std::string&) { return versioned_counter(false); };
  stop_system();
  start_system(cfg);
  auto servers = ids({"s1", "s2", "s3"});
  start_cluster("c1", servers, "vc");
  auto send = [&](int64_t n) {
    auto r = call<raw_reply>([&](caf::event_based_actor* self, auto then) {
      async::process_command_raw(self, sys(), servers[0], encode_command<vcount_protocol>(vcount_cmd{n}), call_timeout,
                                 std::move(then));
    });
    REQUIRE(r);
    return decode_reply<vcount_cmd>(r->reply).value_or(-1);
  };
  CHECK(send(1) == 1);
  sys().register_machine("vc", [](const std::string&) { return versioned_counter(true); });
  for (size_t i = 0; i < servers.size(); ++i) {
    REQUIRE(blocking([&] { return sys().stop_server(servers[i]); }));
    REQUIRE(blocking([&] { return sys().restart_server(servers[i]); }));
    REQUIRE(!await_leader(servers).empty());
    if (i + 1 < servers.size()) CHECK(send(1) == static_cast<int64_t>(i) + 2);  // still version 0
  }
  REQUIRE(eventually([&] {
    for (auto& id : servers) {
      auto m = key_metrics(id);
      if (!m || m->effective_machine_version != 1) return false;
    }
    return true;
  }));
  CHECK(send(1) == 16);  // upgraded: 3 doubled to 6, then + 10 * 1
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: delete_cluster stops every member and removes its data",
                 "[coordinator][delete]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  std::vector<std::string> dirs;
  for (auto& id : servers) dirs.push_back(sys().data_dir() + "/" + sys().uid_of(id.name));
  auto r = call<actors::command_result>([&](caf::event_based_actor* self, auto then) {
    self->request(sys().lookup(other_than(servers, leader)), caf::infinite, actors::delete_cluster_atom::value)
      .then([then](const actors::command_result& res) { then(res); },
            [then](caf::error&) { then(make_api_error(api_errc::noproc)); });
  });
  REQUIRE(r);
  REQUIRE(r->failed);  // a follower refuses and names the leader
  CHECK(r->error.leader == leader);
  auto ok = call<actors::command_result>([&](caf::event_based_actor* self, auto then) {
    self->request(sys().lookup(leader), caf::infinite, actors::delete_cluster_atom::value)
      .then([then](const actors::command_result& res) { then(res); },
            [then](caf::error&) { then(make_api_error(api_errc::noproc)); });
  });
  REQUIRE(ok);
  CHECK_FALSE(ok->failed);
  REQUIRE(run_until([&] {
    for (auto& id : servers)
      if (sys().is_running(id.name) || !sys().uid_of(id.name).empty()) return false;
    return true;
  }));
  for (auto& d : dirs) CHECK_FALSE(std::filesystem::exists(d));
}

// -- reply options, aux, member details, delete and leave (simulated time) ----------------------

namespace {

std::vector<server_id> followers_of(const std::vector<server_id>& ids, const server_id& leader) {
  std::vector<server_id> out;
  for (auto& id : ids)
    if (id != leader) out.push_back(id);
  return out;
}

/// async::process_command<int64_t> with options, from a fresh client.
result<command_reply<int64_t>> add_with(coordinator_fixture& f, const server_id& to, int64_t n,
                                        const command_options& opts,
                                        std::chrono::milliseconds timeout = coordinator_fixture::call_timeout) {
  return f.call<command_reply<int64_t>>([&f, to, n, opts, timeout](caf::event_based_actor* self, auto then) {
    async::process_command<int64_t>(self, f.sys(), to, n, opts, timeout, std::move(then));
  });
}

result<nlohmann::json> overview_of(coordinator_fixture& f, const server_id& id) {
  return f.call<nlohmann::json>([&f, id](caf::event_based_actor* self, auto then) {
    async::member_overview(self, f.sys(), id, coordinator_fixture::call_timeout, std::move(then));
  });
}

}  // namespace

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async reply_from member returns once that member applied the command",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  REQUIRE(await_values(servers, 1));
  auto fs = followers_of(servers, leader);
  const command_options from_fs1{reply_mode::await_consensus, reply_from::member, fs[1]};

  // fs[1] is cut off: the leader commits with fs[0], but the call waits for fs[1].
  isolate(fs[1]);
  const auto asked = now();
  auto stuck = add_with(*this, leader, 10, from_fs1, 1000ms);
  REQUIRE(!stuck);
  CHECK(stuck.error().code == api_errc::timeout);
  CHECK(now() - asked >= caf::timespan{1s});
  CHECK(local_value(leader) == 11);
  CHECK(local_value(fs[1]) == 1);

  // Healed: asked through a follower (redirected), the call returns once fs[1] applied it,
  // so its local state shows the command right away.
  heal();
  auto r = add_with(*this, fs[0], 100, from_fs1);
  REQUIRE(r);
  CHECK(r->reply == 111);
  CHECK(r->leader == leader);
  CHECK(local_value(fs[1]) == 111);

  // reply_from local: the addressed member.
  auto r2 = add_with(*this, fs[1], 1000, command_options{reply_mode::await_consensus, reply_from::local, {}});
  REQUIRE(r2);
  CHECK(r2->reply == 1111);
  CHECK(local_value(fs[1]) == 1111);

  // Arguments the blocking call refuses are refused here too (nothing is sent).
  auto no_member = add_with(*this, leader, 1, command_options{reply_mode::await_consensus, reply_from::member, {}});
  REQUIRE(!no_member);
  CHECK(no_member.error().code == api_errc::invalid_argument);
  auto notify = add_with(*this, leader, 1, command_options{reply_mode::notify, reply_from::leader, {}});
  REQUIRE(!notify);
  CHECK(notify.error().code == api_errc::invalid_argument);
  auto remote_local =
    add_with(*this, server_id{"s1", "elsewhere"}, 1, command_options{reply_mode::await_consensus, reply_from::local, {}});
  REQUIRE(!remote_local);
  CHECK(remote_local.error().code == api_errc::invalid_argument);
  CHECK(await_values(servers, 1111));
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async after_log_append returns the index once the leader appended",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  auto first = add(leader, 1);
  REQUIRE(first);
  REQUIRE(await_values(servers, 1));
  auto fs = followers_of(servers, leader);

  // The leader is cut off from its followers: nothing commits, yet the call returns.
  isolate(leader);
  const auto asked = now();
  auto r = add_with(*this, fs[0], 5, command_options{reply_mode::after_log_append, reply_from::leader, {}});
  REQUIRE(r);
  CHECK(r->leader == leader);  // redirected from the follower
  CHECK(r->index.value == first->index.value + 1);
  CHECK(r->reply == 0);  // no machine reply in this mode
  CHECK(now() - asked < caf::timespan{100ms});
  CHECK(local_value(leader) == 1);  // appended, not applied

  heal();
  CHECK(await_values(servers, 6));
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: an async noreply command returns at once and is applied later",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  const command_options noreply{reply_mode::noreply, reply_from::leader, {}};

  const auto asked = now();
  auto r = add_with(*this, leader, 5, noreply);
  REQUIRE(r);
  CHECK(now() == asked);  // reported before any server handled it
  CHECK(r->index.value == 0);
  CHECK(r->leader.empty());
  CHECK(await_values(servers, 6));

  // Not redirected: a follower drops it.
  auto dropped = add_with(*this, other_than(servers, leader), 100, noreply);
  REQUIRE(dropped);
  advance(1s);
  CHECK(local_value(leader) == 6);

  auto nobody = add_with(*this, server_id{"nobody", sys().name()}, 1, noreply);
  REQUIRE(!nobody);
  CHECK(nobody.error().code == api_errc::noproc);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: an async aux command runs on the member it is sent to",
                 "[coordinator][async_admin]") {
  sys().register_machine("fx", [](const std::string&) { return make_machine<effect_counter>(); });
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers, "fx");
  REQUIRE(add(leader, 5));
  REQUIRE(await_values(servers, 5));
  auto aux = [&](const server_id& to, const std::string& cmd) {
    return call<std::string>([&, to, cmd](caf::event_based_actor* self, auto then) {
      async::aux_command<std::string>(self, sys(), to, cmd, call_timeout, std::move(then));
    });
  };
  auto follower = other_than(servers, leader);
  // "<role> <commands this member's aux handler saw> <state>": no redirect to the leader.
  auto a1 = aux(follower, "a");
  REQUIRE(a1);
  CHECK(*a1 == "follower 1 5");
  auto a2 = aux(follower, "b");
  REQUIRE(a2);
  CHECK(*a2 == "follower 2 5");
  auto a3 = aux(leader, "c");
  REQUIRE(a3);
  CHECK(*a3 == "leader 1 5");

  auto nobody = aux(server_id{"nobody", sys().name()}, "d");
  REQUIRE(!nobody);
  CHECK(nobody.error().code == api_errc::noproc);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async member_overview reports the member's role and state",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  auto r = add(leader, 3);
  REQUIRE(r);
  REQUIRE(await_values(servers, 3));

  auto ov = overview_of(*this, leader);
  REQUIRE(ov);
  CHECK((*ov)["role"] == "leader");
  CHECK((*ov)["id"] == leader.to_string());
  CHECK((*ov)["cluster_name"] == "c1");
  CHECK((*ov)["last_applied"].get<uint64_t>() >= r->index.value);
  CHECK(ov->contains("peers"));

  auto follower = other_than(servers, leader);
  auto fov = overview_of(*this, follower);
  REQUIRE(fov);
  CHECK((*fov)["role"] == "follower");
  CHECK((*fov)["leader"] == leader.to_string());
  CHECK_FALSE(fov->contains("peers"));

  auto nobody = overview_of(*this, server_id{"nobody", sys().name()});
  REQUIRE(!nobody);
  CHECK(nobody.error().code == api_errc::noproc);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async members_info reports the leader's match indexes",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  for (int i = 0; i < 5; ++i) REQUIRE(add(leader, 1));
  auto info_via = [&](const server_id& id) {
    return call<members_detail>([&, id](caf::event_based_actor* self, auto then) {
      async::members_info(self, sys(), id, call_timeout, std::move(then));
    });
  };
  // Once the followers acknowledged everything, every match index is the leader's last
  // applied index (asked through a follower: the leader's view is used).
  auto follower = other_than(servers, leader);
  uint64_t applied = 0;
  CHECK(eventually([&] {
    auto ov = overview_of(*this, leader);
    auto info = info_via(follower);
    if (!ov || !info || info->members.size() != servers.size()) return false;
    applied = (*ov)["last_applied"].get<uint64_t>();
    for (auto& m : info->members)
      if (m.match_index.value != applied) return false;
    return true;
  }));
  CHECK(applied >= 6);  // the leader's noop and five commands
  auto info = info_via(follower);
  REQUIRE(info);
  CHECK(info->leader == leader);
  for (auto& m : info->members) {
    CHECK(m.is_leader == (m.id == leader));
    CHECK(m.kind == membership::voter);
    CHECK(m.next_index.value == applied + 1);
  }
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async delete_cluster returns once every local member and its data are gone",
                 "[coordinator][async_admin][delete]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  std::vector<std::string> dirs;
  for (auto& id : servers) dirs.push_back(sys().data_dir() + "/" + sys().uid_of(id.name));
  for (auto& d : dirs) REQUIRE(std::filesystem::exists(d));
  // A follower first: it is asked and redirects to the leader.
  std::vector<server_id> order = followers_of(servers, leader);
  order.push_back(leader);
  auto st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    async::delete_cluster(self, sys(), order, call_timeout, std::move(then));
  });
  REQUIRE(st);
  // No waiting here: the call reported only once all of this was true.
  for (auto& id : servers) {
    CHECK_FALSE(sys().is_running(id.name));
    CHECK(sys().uid_of(id.name).empty());
  }
  for (auto& d : dirs) CHECK_FALSE(std::filesystem::exists(d));

  auto none = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    async::delete_cluster(self, sys(), {}, call_timeout, std::move(then));
  });
  REQUIRE(!none);
  CHECK(none.error().code == api_errc::invalid_argument);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async leave_and_terminate removes and stops a member, keeping its data",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  REQUIRE(await_values(servers, 1));
  auto target = other_than(servers, leader);
  const auto dir = sys().data_dir() + "/" + sys().uid_of(target.name);
  auto st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    // Asked through the target itself: the removal is redirected to the leader.
    async::leave_and_terminate(self, sys(), target, target, call_timeout, std::move(then));
  });
  REQUIRE(st);
  CHECK_FALSE(sys().is_running(target.name));
  CHECK(sys().lookup(target) == caf::actor{});
  auto metrics = key_metrics(target);
  REQUIRE(metrics);
  CHECK_FALSE(metrics->running);  // its actor ended
  CHECK_FALSE(sys().uid_of(target.name).empty());  // stopped, not deleted
  CHECK(std::filesystem::exists(dir));

  auto m = call<cluster_members>([&](caf::event_based_actor* self, async::callback<cluster_members> then) {
    async::members(self, sys(), leader, call_timeout, std::move(then));
  });
  REQUIRE(m);
  CHECK(m->members.size() == 2);
  CHECK_FALSE(is_member(*m, target));
  auto r = add(leader, 1);  // the two remaining voters commit
  REQUIRE(r);
  CHECK(r->reply == 2);
}

TEST_CASE_METHOD(coordinator_fixture, "coordinator: async leave_and_delete_server removes a member and deletes its data",
                 "[coordinator][async_admin]") {
  auto servers = ids({"s1", "s2", "s3"});
  auto leader = start_cluster("c1", servers);
  REQUIRE(add(leader, 1));
  REQUIRE(await_values(servers, 1));
  auto target = other_than(servers, leader);
  const auto dir = sys().data_dir() + "/" + sys().uid_of(target.name);
  REQUIRE(std::filesystem::exists(dir));
  auto st = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    async::leave_and_delete_server(self, sys(), leader, target, call_timeout, std::move(then));
  });
  REQUIRE(st);
  CHECK_FALSE(sys().is_running(target.name));
  CHECK(sys().uid_of(target.name).empty());
  CHECK_FALSE(std::filesystem::exists(dir));
  // Its actor had ended before the data went (not merely been forgotten).
  auto metrics = key_metrics(target);
  REQUIRE(metrics);
  CHECK_FALSE(metrics->running);

  auto m = call<cluster_members>([&](caf::event_based_actor* self, async::callback<cluster_members> then) {
    async::members(self, sys(), leader, call_timeout, std::move(then));
  });
  REQUIRE(m);
  CHECK(m->members.size() == 2);
  CHECK_FALSE(is_member(*m, target));
  auto r = add(leader, 1);
  REQUIRE(r);
  CHECK(r->reply == 2);
  // A second time it is no longer a member: the removal is refused and nothing is deleted.
  auto again = call<done>([&](caf::event_based_actor* self, async::callback<done> then) {
    async::leave_and_delete_server(self, sys(), leader, target, call_timeout, std::move(then));
  });
  REQUIRE(!again);
  CHECK(again.error().is(error_code::unknown_member));
}
