// Distribution (actors/node_link.hpp): the members of one cluster live in three ra::systems,
// each with its own CAF actor system and io middleman on loopback. In-process resolution
// is off, so every peer RPC, client request and reply crosses the middleman's
// serialisation. Also the node failure detector against a fake node whose answers to
// pings the test switches off and on. Every wait is bounded.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <type_traits>
#include <optional>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "test/actors/distributed_fixture.hpp"
#include "test/actors/runtime_fixture.hpp"
#include "ra/api.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "ra/effects.hpp"
#include "actors/pid.hpp"
#include "ra/machines/counter.hpp"
#include "ra/machines/fifo.hpp"
#include "ra/machines/kv.hpp"

using namespace ra;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

using ra::test::await_local;
using ra::test::eventually;
using ra::test::temp_dir;
using namespace ra::test;

TEST_CASE("distributed: a 3-node cluster over the middleman elects, replicates and survives a node loss",
          "[distributed]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3);

  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"};
  std::vector<server_id> ids{s1, s2, s3};
  start_counter_cluster(nodes, "dist", ids);

  // A command through each member, each from the member's own node: the followers'
  // not_leader hints are followed to the leader on another node.
  auto r1 = process_command<int64_t>(*nodes["n1"], s1, int64_t{5}, 15s);
  REQUIRE(r1);
  CHECK(r1->reply == 5);
  auto r2 = process_command<int64_t>(*nodes["n2"], s2, int64_t{7}, 10s);
  REQUIRE(r2);
  CHECK(r2->reply == 12);
  auto r3 = process_command<int64_t>(*nodes["n3"], s3, int64_t{3}, 10s);
  REQUIRE(r3);
  CHECK(r3->reply == 15);
  const server_id old_leader = r3->leader;
  REQUIRE(std::find(ids.begin(), ids.end(), old_leader) != ids.end());
  for (auto& id : ids) CHECK(await_local(*nodes[id.node], id, 15) == 15);

  // Client calls straight to a server of another node: the member list ...
  const std::string client_node = old_leader.node == "n1" ? "n2" : "n1";
  auto& client = *nodes[client_node];
  std::optional<cluster_members> m;
  REQUIRE(eventually(
    [&] {
      auto r = members(client, old_leader, 2s);
      if (r) m = *r;
      return r.has_value();
    },
    5s));
  CHECK(m->members.size() == 3);
  CHECK(m->leader == old_leader);
  // ... and pipelined commands whose applied notifications come back across nodes.
  auto applied = std::make_shared<applied_log>();
  auto notify = client.actor_system().spawn([applied](caf::event_based_actor*, int) -> caf::behavior {
    return {
      [applied](actors::applied_atom, const actors::applied_batch& b) {
        std::lock_guard lk{applied->mx};
        for (auto& [correlation, reply] : b.applied) applied->correlations.push_back(correlation);
      },
      [](actors::rejected_atom, uint64_t, const command_error&) {},
    };
  }, 0);
  REQUIRE(eventually([&] { return static_cast<bool>(client.lookup(old_leader)); }, 5s));
  for (uint64_t c = 1; c <= 3; ++c) REQUIRE(pipeline_command(client, old_leader, int64_t{1}, c, notify));
  CHECK(eventually([&] { return applied->size() == 3; }, 5s));
  caf::anon_send_exit(notify, caf::exit_reason::user_shutdown);
  for (auto& id : ids) CHECK(await_local(*nodes[id.node], id, 18) == 18);

  // Lose the leader's node: its whole system goes, as in a node crash.
  const std::string survivor_node = old_leader.node == "n3" ? "n2" : "n3";
  node_watcher watcher{nodes[survivor_node]->actor_system()};
  REQUIRE(watch_node(*nodes[survivor_node], old_leader.node, watcher.actor()));
  const auto lost_at = clock_type::now();
  nodes[old_leader.node]->stop();
  CHECK(eventually([&] { return watcher.events().first(old_leader.node, false, lost_at).has_value(); }, 5s));
  CHECK(!connected_to(*nodes[survivor_node], old_leader.node));

  std::vector<server_id> survivors;
  for (auto& id : ids)
    if (id.node != old_leader.node) survivors.push_back(id);
  auto r4 = process_command<int64_t>(*nodes[survivors[0].node], survivors[0], int64_t{10}, 15s);
  REQUIRE(r4);
  CHECK(r4->reply == 28);
  CHECK(r4->leader != old_leader);
  CHECK(std::find(survivors.begin(), survivors.end(), r4->leader) != survivors.end());
  auto r5 = process_command<int64_t>(*nodes[survivors[1].node], survivors[1], int64_t{2}, 10s);
  REQUIRE(r5);
  CHECK(r5->reply == 30);
  for (auto& id : survivors) CHECK(await_local(*nodes[id.node], id, 30) == 30);
}

TEST_CASE("distributed: a lost node restarted on its port is redialled and its server catches up",
          "[distributed]") {
  temp_dir d1, d2, d3;
  auto n1 = start_system(distributed_config("n1", d1.path(), {}));
  const uint16_t p1 = node_port(*n1);
  REQUIRE(p1 != 0);
  // n2 and n3 dial n1: they redial it while it is lost.
  auto n2 = start_system(distributed_config("n2", d2.path(), {{"n1", {"127.0.0.1", p1}}}));
  auto n3 = start_system(
    distributed_config("n3", d3.path(), {{"n1", {"127.0.0.1", p1}}, {"n2", {"127.0.0.1", node_port(*n2)}}}));
  REQUIRE(eventually([&] { return connected_nodes(*n1).size() == 2 && connected_nodes(*n2).size() == 2; }, 5s));

  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"};
  std::vector<member> all{member{s1}, member{s2}, member{s3}};
  REQUIRE(start_server(*n1, "dist", s1, "counter", all));
  REQUIRE(start_server(*n2, "dist", s2, "counter", all));
  REQUIRE(start_server(*n3, "dist", s3, "counter", all));
  REQUIRE(trigger_election(*n2, s2));
  auto r1 = process_command<int64_t>(*n2, s2, int64_t{5}, 15s);
  REQUIRE(r1);
  CHECK(r1->reply == 5);
  CHECK(await_local(*n1, s1, 5) == 5);

  node_watcher watcher{n2->actor_system()};
  REQUIRE(watch_node(*n2, "n1", watcher.actor()));
  const auto lost_at = clock_type::now();
  n1->stop();
  n1.reset();
  REQUIRE(eventually([&] { return watcher.events().first("n1", false, lost_at).has_value(); }, 5s));
  auto r2 = process_command<int64_t>(*n2, s2, int64_t{7}, 15s);  // n2 and n3 are a majority
  REQUIRE(r2);
  CHECK(r2->reply == 12);

  // Back on the same port and data dir: n2 and n3 redial it, s1 restarts from its log and
  // catches up from the leader over the middleman.
  const auto back_at = clock_type::now();
  auto cfg = distributed_config("n1", d1.path(), {});
  cfg.listen_port = p1;
  n1 = start_system(std::move(cfg));
  REQUIRE(node_port(*n1) == p1);
  REQUIRE(restart_server(*n1, s1));
  REQUIRE(eventually([&] { return watcher.events().first("n1", true, back_at).has_value(); }, 5s));
  CHECK(await_local(*n1, s1, 12) == 12);
  auto r3 = process_command<int64_t>(*n1, s1, int64_t{3}, 10s);
  REQUIRE(r3);
  CHECK(r3->reply == 15);
  CHECK(await_local(*n3, s3, 15) == 15);
}

TEST_CASE("distributed: the node detector reports a silent or lost node down, and back up", "[distributed]") {
  auto answering = std::make_shared<std::atomic<bool>>(true);
  auto fake = std::make_unique<fake_node>(0, answering);
  const uint16_t fake_port = fake->port();
  REQUIRE(fake_port != 0);

  temp_dir dir;
  auto sys = start_system(distributed_config("n1", dir.path(), {{"fake", {"127.0.0.1", fake_port}}}));
  REQUIRE(eventually([&] { return connected_to(*sys, "fake"); }, 5s));
  node_watcher watcher{sys->actor_system()};
  REQUIRE(watch_node(*sys, "fake", watcher.actor()));
  // What a server following a leader on that node registers (server_actor.cpp), with a
  // stand-in for the server that records the leader_down it is sent.
  auto leader_downs = std::make_shared<std::atomic<int>>(0);
  auto follower = sys->actor_system().spawn([leader_downs](caf::event_based_actor*, int) -> caf::behavior {
    return {[leader_downs](actors::leader_down_atom, const server_id& leader) {
      if (leader == server_id{"s1", "fake"}) ++*leader_downs;
    }};
  }, 0);
  auto core = ra::detail::find_system(sys->name());
  REQUIRE(core);
  core->watch_leader(server_id{"s1", "fake"}, follower);

  // While the node answers, several detection windows pass without an alarm. (Checking
  // that nothing happens needs the time to pass.)
  std::this_thread::sleep_for(ms{3 * down_after_ms});
  CHECK(watcher.events().count(false) == 0);
  CHECK(connected_to(*sys, "fake"));

  // Silent but connected (a hung node, or a partition TCP does not see): down once it has
  // not answered for down_after, judged at the next ping.
  answering->store(false);
  const auto silent_at = clock_type::now();
  REQUIRE(eventually([&] { return watcher.events().first("fake", false, silent_at).has_value(); },
                   ms{down_after_ms + 4 * ping_interval_ms + 2000}));
  auto down_after = watcher.events().first("fake", false, silent_at)->at - silent_at;
  // Not before down_after minus the age of the last answer (at most about one interval,
  // more if the machine is loaded).
  CHECK(down_after >= ms{down_after_ms - 2 * ping_interval_ms});
  CHECK(down_after <= ms{down_after_ms + 2 * ping_interval_ms + 500});
  CHECK(!connected_to(*sys, "fake"));
  CHECK(eventually([&] { return leader_downs->load() == 1; }, 2s));

  // It answers again: up at the next ping.
  answering->store(true);
  const auto answering_at = clock_type::now();
  REQUIRE(eventually([&] { return watcher.events().first("fake", true, answering_at).has_value(); },
                   ms{2 * ping_interval_ms + 2000}));
  CHECK(connected_to(*sys, "fake"));

  // Its process goes: down at once (the connection closes), well before down_after.
  const auto killed_at = clock_type::now();
  fake.reset();
  REQUIRE(eventually([&] { return watcher.events().first("fake", false, killed_at).has_value(); }, 5s));
  CHECK(watcher.events().first("fake", false, killed_at)->at - killed_at < ms{down_after_ms});
  CHECK(eventually([&] { return leader_downs->load() == 2; }, 2s));

  // It comes back on the same port: the configured peer is redialled and is up again.
  const auto restarted_at = clock_type::now();
  fake = std::make_unique<fake_node>(fake_port, answering);
  REQUIRE(fake->port() == fake_port);
  REQUIRE(eventually([&] { return watcher.events().first("fake", true, restarted_at).has_value(); }, 5s));
  CHECK(connected_to(*sys, "fake"));
  caf::anon_send_exit(follower, caf::exit_reason::user_shutdown);
}

TEST_CASE("distributed: a distributed system needs the io middleman", "[distributed]") {
  temp_dir dir;
  auto cfg = distributed_config("n1", dir.path(), {});
  cfg.configure_caf = nullptr;
  auto s = ra::system::start(std::move(cfg));
  REQUIRE(!s);
  CHECK(s.error().code == api_errc::invalid_argument);
}

TEST_CASE("distributed: named queries run on servers of other nodes, and query functions are refused there",
          "[distributed][query]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3, [](system_config c) {
    c.machines["kv"] = [](const std::string&) { return machines::make_kv_machine(); };
    return c;
  });
  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"};
  std::vector<server_id> ids{s1, s2, s3};
  start_counter_cluster(nodes, "counters", ids);
  REQUIRE(process_command<int64_t>(*nodes["n1"], s1, int64_t{5}, 15s));
  auto seven = process_command<int64_t>(*nodes["n2"], s2, int64_t{7}, 10s);
  REQUIRE(seven);
  CHECK(seven->reply == 12);
  const server_id leader = seven->leader;
  for (auto& id : ids) REQUIRE(await_local(*nodes[id.node], id, 12) == 12);

  // From every node, through every member (most of them on other nodes): consistent and
  // leader queries follow not_leader to the leader wherever it runs; local ones read
  // the member asked.
  for (auto& [name, sys] : nodes) {
    for (auto& id : ids) {
      INFO("query from " << name << " through " << id.to_string());
      auto c = named_query<int64_t>(*sys, id, query_kind::consistent, "value", 10s);
      if (!c) FAIL(c.error().to_string());
      CHECK(c->value == 12);
      CHECK(c->leader == leader);
      auto l = named_query<int64_t>(*sys, id, query_kind::leader, "value", 10s);
      REQUIRE(l);
      CHECK(l->value == 12);
      auto local = named_query<int64_t>(*sys, id, query_kind::local, "value", 10s);
      REQUIRE(local);
      CHECK(local->value == 12);
    }
  }
  auto& n2 = *nodes["n2"];
  // The caller's mistakes are answered, and harm nobody.
  auto unknown = named_query<int64_t>(n2, s1, query_kind::consistent, "no-such-query", 10s);
  REQUIRE(!unknown);
  CHECK(unknown.error().code == api_errc::invalid_argument);
  auto wrong_type = named_query<std::string>(n2, s1, query_kind::local, "value", 10s);
  REQUIRE(!wrong_type);
  CHECK(wrong_type.error().code == api_errc::bad_reply);
  // A query function cannot be serialised: refused at once, before anything is sent.
  auto fn = local_query<int64_t>(n2, s1, [](const int64_t& s) { return s; }, 1s);
  REQUIRE(!fn);
  CHECK(fn.error().code == api_errc::invalid_argument);

  // A query with an argument: the kv machine's "get" on a single-member cluster on n3,
  // asked from n1.
  server_id k3{"k3", "n3"};
  REQUIRE(start_server(*nodes["n3"], "kv", k3, "kv", {member{k3}}));
  REQUIRE(trigger_election(*nodes["n3"], k3));
  auto put = process_command_raw(*nodes["n1"], k3, encode_command<machines::kv_protocol>(machines::kv_put{"colour", "blue"}), 15s);
  REQUIRE(put);
  auto got = named_query<machines::kv_lookup>(*nodes["n1"], k3, query_kind::consistent, "get", std::string("colour"), 10s);
  REQUIRE(got);
  CHECK(got->value.value == std::optional<std::string>{"blue"});
  auto none = named_query<machines::kv_lookup>(*nodes["n1"], k3, query_kind::consistent, "get", std::string("size"), 10s);
  REQUIRE(none);
  CHECK(!none->value.value);
  auto size = named_query<uint64_t>(*nodes["n1"], k3, query_kind::leader, "size", 10s);
  REQUIRE(size);
  CHECK(size->value == 1);
  // An argument of the wrong type does not decode: invalid_argument, the server runs on.
  auto bad_arg = named_query<machines::kv_lookup>(*nodes["n1"], k3, query_kind::local, "get", int64_t{3}, 10s);
  REQUIRE(!bad_arg);
  CHECK(bad_arg.error().code == api_errc::invalid_argument);
  CHECK(named_query<uint64_t>(*nodes["n2"], k3, query_kind::consistent, "size", 10s));
}

namespace {

/// Records node events as a machine sees them: command "watch <node>" emits a
/// monitor_node effect; nodedown / nodeup commands are appended to the state.
struct node_event_log {
  using command_type = std::string;
  using state_type = std::vector<std::string>;
  using reply_type = int64_t;
  state_type init() const { return {}; }
  apply_result<state_type, reply_type> apply(const command_meta&, const command_type& c, state_type s) const {
    effects effs;
    if (c.rfind("watch ", 0) == 0) effs.push_back(effect::monitor_node(c.substr(6)));
    return {std::move(s), 0, std::move(effs)};
  }
  apply_result<state_type, reply_type> apply_builtin(const command_meta&, const builtin_command& b, state_type s) const {
    if (auto* d = std::get_if<nodedown_command>(&b)) s.push_back("down " + d->node);
    if (auto* u = std::get_if<nodeup_command>(&b)) s.push_back("up " + u->node);
    return {std::move(s), 0};
  }
};

}  // namespace

TEST_CASE("distributed: calls waiting on a server whose node freezes fail at once, not at their timeout",
          "[distributed][failover]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3);
  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"};
  std::vector<server_id> ids{s1, s2, s3};
  start_counter_cluster(nodes, "dist", ids);
  auto first = process_command<int64_t>(*nodes["n2"], s1, int64_t{5}, 15s);
  REQUIRE(first);
  REQUIRE(first->leader == s1);
  // Without its followers the leader cannot commit: calls to it stay in flight.
  REQUIRE(stop_server(*nodes["n2"], s2));
  REQUIRE(stop_server(*nodes["n3"], s3));
  auto& client = *nodes["n2"];
  auto command = std::async(std::launch::async, [&] { return process_command<int64_t>(client, s1, int64_t{7}, 20s); });
  auto query = std::async(std::launch::async,
                          [&] { return named_query<int64_t>(client, s1, query_kind::consistent, "value", 20s); });
  std::this_thread::sleep_for(300ms);
  REQUIRE(command.wait_for(0s) == std::future_status::timeout);
  REQUIRE(query.wait_for(0s) == std::future_status::timeout);
  // The leader's node freezes: its connection stays open, nothing answers. The detector
  // sees it down after 500 ms; both calls end then, well before the node thaws.
  const auto frozen_at = clock_type::now();
  freeze_system(*nodes["n1"], frozen_at + 6s);
  REQUIRE(command.wait_for(3s) == std::future_status::ready);
  REQUIRE(query.wait_for(1s) == std::future_status::ready);
  CHECK(clock_type::now() - frozen_at < 4s);
  auto c = command.get();
  REQUIRE(!c);
  // The leader had the command: it may be applied (a later leader may commit it), so the
  // call says so instead of retrying it.
  CHECK(c.error().is(error_code::leadership_lost));
  auto q = query.get();
  REQUIRE(!q);
  // The query was addressed to the lost server itself: nothing to redirect to.
  CHECK(q.error().code == api_errc::noproc);
  std::this_thread::sleep_until(frozen_at + 6s);
}

TEST_CASE("distributed: a query redirected to a leader whose node freezes is asked again through the member named",
          "[distributed][failover]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3);
  // Five voters: s1 on n1, s2 on n2, s3..s5 on n3.
  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"}, s4{"s4", "n3"}, s5{"s5", "n3"};
  start_counter_cluster(nodes, "dist", {s1, s2, s3, s4, s5});
  REQUIRE(process_command<int64_t>(*nodes["n2"], s2, int64_t{5}, 15s));
  // With s3..s5 stopped, s1 cannot confirm its leadership (2 of 5): a consistent query
  // asked through s2 is redirected to s1 and waits there.
  for (auto& id : {s3, s4, s5}) REQUIRE(stop_server(*nodes["n3"], id));
  auto& client = *nodes["n2"];
  auto query = std::async(std::launch::async,
                          [&] { return named_query<int64_t>(client, s2, query_kind::consistent, "value", 30s); });
  std::this_thread::sleep_for(300ms);
  REQUIRE(query.wait_for(0s) == std::future_status::timeout);
  const auto frozen_at = clock_type::now();
  freeze_system(*nodes["n1"], frozen_at + 8s);
  // s2, s3 and s4 elect a leader while s1's node is frozen; the query, asked again
  // through s2, reaches it (before the fix it waited on s1 until the node thawed).
  REQUIRE(restart_server(*nodes["n3"], s3));
  REQUIRE(restart_server(*nodes["n3"], s4));
  REQUIRE(query.wait_for(6s) == std::future_status::ready);
  CHECK(clock_type::now() - frozen_at < 7s);
  auto q = query.get();
  REQUIRE(q);
  CHECK(q->value == 5);
  CHECK(q->leader != s1);
  std::this_thread::sleep_until(frozen_at + 8s);
}

TEST_CASE("distributed: a machine's send_msg and monitor reach actors of other nodes", "[distributed][pid]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3, [](system_config c) {
    c.machines["fifo"] = [](const std::string&) { return machines::make_fifo_machine(); };
    return c;
  });
  server_id q1{"q1", "n1"}, q2{"q2", "n2"}, q3{"q3", "n3"};
  std::vector<member> all{member{q1}, member{q2}, member{q3}};
  for (auto& id : {q1, q2, q3}) REQUIRE(start_server(*nodes[id.node], "queue", id, "fifo", all));
  REQUIRE(trigger_election(*nodes["n1"], q1));
  using namespace ra::machines;
  // Commands from n2 through its own member (redirected to the leader on n1).
  auto send = [&](const auto& cmd) {
    auto r = process_command_raw(*nodes["n2"], q2, encode_command<fifo_protocol>(cmd), 10s);
    if (!r) FAIL(r.error().to_string());
    return decode<uint64_t>(r->reply).value_or(0);
  };
  auto consumers = [&] {
    auto r = named_query<uint64_t>(*nodes["n1"], q1, query_kind::leader, "consumers", 5s);
    return r ? r->value : uint64_t{999};
  };
  for (int i = 0; i < 4; ++i) send(fifo_enqueue{"m" + std::to_string(i)});

  // A consumer on n2 (the leader is on n1): deliveries are send_msg effects to its pid.
  std::vector<std::string> got1;
  {
    caf::scoped_actor c1{nodes["n2"]->actor_system()};
    auto p1 = to_pid(*nodes["n2"], caf::actor_cast<caf::actor>(c1));
    CHECK(send(fifo_checkout{p1, 2}) == 2);
    for (int i = 0; i < 2; ++i)
      c1->receive([&](fifo_delivery_atom, uint64_t, const std::string& payload) { got1.push_back(payload); },
                  caf::after(5s) >> [] { FAIL("no delivery to a consumer on another node"); });
    CHECK(consumers() == 1);
  }  // c1 exits without settling: the machine's monitor reports it down
  CHECK(got1 == std::vector<std::string>{"m0", "m1"});
  CHECK(eventually([&] { return consumers() == 0; }, 5s));

  // A consumer on n3 gets every message, the two c1 held included.
  caf::scoped_actor c2{nodes["n3"]->actor_system()};
  auto p2 = to_pid(*nodes["n3"], caf::actor_cast<caf::actor>(c2));
  send(fifo_checkout{p2, 10});
  std::vector<std::string> got2;
  for (int i = 0; i < 4; ++i)
    c2->receive([&](fifo_delivery_atom, uint64_t, const std::string& payload) { got2.push_back(payload); },
                caf::after(5s) >> [] { FAIL("no re-delivery to a consumer on another node"); });
  std::sort(got2.begin(), got2.end());
  CHECK(got2 == std::vector<std::string>{"m0", "m1", "m2", "m3"});
  CHECK(consumers() == 1);
  // Its node freezes (connection open, no answers): once the detector declares n3 down,
  // the machine gets down (noconnection) for the consumer, while n3 is still frozen.
  const auto frozen_at = clock_type::now();
  freeze_system(*nodes["n3"], frozen_at + 4s);
  CHECK(eventually([&] { return consumers() == 0; }, 3s));
  CHECK(clock_type::now() - frozen_at < 4s);
  std::this_thread::sleep_until(frozen_at + 4s);
}

TEST_CASE("distributed: a machine's monitor_node effect turns a lost node into a nodedown command",
          "[distributed][effects]") {
  temp_dir d1, d2;
  auto c1 = distributed_config("n1", d1.path(), {});
  c1.machines["events"] = [](const std::string&) { return make_machine<node_event_log>(); };
  auto n1 = start_system(std::move(c1));
  auto n2 = start_system(distributed_config("n2", d2.path(), {{"n1", {"127.0.0.1", node_port(*n1)}}}));
  REQUIRE(eventually([&] { return connected_to(*n1, "n2"); }, 5s));
  server_id s1{"s1", "n1"};
  REQUIRE(start_server(*n1, "ev", s1, "events", {member{s1}}));
  REQUIRE(trigger_election(*n1, s1));
  REQUIRE(process_command<int64_t>(*n1, s1, std::string("watch n2"), 10s));
  n2->stop();
  n2.reset();
  std::vector<std::string> seen;
  CHECK(eventually(
    [&] {
      auto q = local_query<std::vector<std::string>>(*n1, s1, [](const std::vector<std::string>& s) { return s; }, 1s);
      if (q) seen = q->value;
      return !seen.empty();
    },
    5s));
  CHECK(seen == std::vector<std::string>{"down n2"});
}

// -- security (review F3; docs/runtime.md, "Security model") ---------------------------------

namespace {


/// A byte field that claims `claimed` bytes on the wire and carries none: saved exactly
/// like ra::shared_bytes' length prefix, under its wire name.
struct lying_bytes {
  uint32_t claimed = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lying_bytes& x) {
  if constexpr (std::is_base_of_v<caf::serializer, Inspector>) {
    size_t n = x.claimed;
    if (auto err = f.begin_sequence(n)) return err;
    return f.end_sequence();
  } else {
    return f(x.claimed);
  }
}

/// Peak RSS (VmHWM) in bytes; reset_peak_rss() starts a new peak (Linux >= 4.0).
size_t peak_rss() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  return 0;
}
bool reset_peak_rss() {
  std::ofstream out{"/proc/self/clear_refs"};
  out << "5";
  return static_cast<bool>(out);
}

}  // namespace

TEST_CASE("distributed: plain distribution listens on loopback and needs allow_insecure_remote beyond it",
          "[distributed][security]") {
  CHECK(system_config{}.listen_host == "127.0.0.1");
  temp_dir d1, d2, d3;
  auto all_interfaces = distributed_config("n1", d1.path(), {});
  all_interfaces.listen_host = "";
  auto r = ra::system::start(all_interfaces);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == api_errc::invalid_argument);
  CHECK(r.error().message.find("allow_insecure_remote") != std::string::npos);

  auto remote_peer = distributed_config("n2", d2.path(), {{"n9", {"192.0.2.7", 4242}}});
  auto r2 = ra::system::start(remote_peer);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().code == api_errc::invalid_argument);

  auto allowed = distributed_config("n3", d3.path(), {});
  allowed.listen_host = "0.0.0.0";
  allowed.allow_insecure_remote = true;
  auto r3 = ra::system::start(allowed);
  REQUIRE(r3);
  CHECK(node_port(**r3) != 0);
}

TEST_CASE("distributed: a hello claiming the name of a linked node is refused and the link is kept",
          "[distributed][security]") {
  temp_dir d1, d2;
  auto n1 = start_system(distributed_config("n1", d1.path(), {}));
  auto n2 = start_system(distributed_config("n2", d2.path(), {{"n1", {"127.0.0.1", node_port(*n1)}}}));
  REQUIRE(eventually([&] { return connected_to(*n1, "n2"); }, 5s));
  node_watcher watcher{n1->actor_system()};
  REQUIRE(watch_node(*n1, "n2", watcher.actor()));
  const auto hijack_at = clock_type::now();

  // A second process calling itself n2 (a hijacker, or a node misconfigured with n2's
  // name) says hello to n1 with its own "node actor".
  outsider impostor{[](caf::actor_system_config& c) { actors::announce_ra_types(c); }};
  auto n1_node = impostor.node_actor(node_port(*n1));
  auto fake = impostor.sys->spawn([](caf::event_based_actor*, int) -> caf::behavior {
    return {[](actors::node_ping_atom, const std::string&, uint64_t) {}};
  }, 0);
  std::optional<std::string> answer;
  bool refused = false;
  {
    caf::scoped_actor self{*impostor.sys};
    self->request(n1_node, 5s, actors::node_hello_atom::value, std::string("n2"), fake)
      .receive([&](const std::string& name) { answer = name; }, [&](caf::error&) { refused = true; });
  }
  CHECK(refused);
  CHECK_FALSE(answer);
  // n1 keeps its link to the real n2: no node_down over several detection windows.
  std::this_thread::sleep_for(ms{3 * down_after_ms});
  CHECK_FALSE(watcher.events().first("n2", false, hijack_at));
  CHECK(connected_to(*n1, "n2"));
  caf::anon_send_exit(fake, caf::exit_reason::user_shutdown);
}

TEST_CASE("distributed: a forged peer message and a remote exit message are dropped and counted",
          "[distributed][security]") {
  temp_dir d1, d2;
  auto n1 = start_system(distributed_config("n1", d1.path(), {}));
  auto n2 = start_system(distributed_config("n2", d2.path(), {{"n1", {"127.0.0.1", node_port(*n1)}}}));
  REQUIRE(eventually([&] { return connected_to(*n1, "n2") && connected_to(*n2, "n1"); }, 5s));
  server_id s1{"s1", "n1"}, s2{"s2", "n2"};
  std::vector<member> all{member{s1}, member{s2}};
  REQUIRE(start_server(*n1, "sec", s1, "counter", all));
  REQUIRE(start_server(*n2, "sec", s2, "counter", all));
  REQUIRE(trigger_election(*n1, s1));
  REQUIRE(process_command<int64_t>(*n1, s1, int64_t{1}, 15s));  // honest traffic passes the checks
  CHECK(security_stats(*n1).forged_peer_messages == 0);
  CHECK(security_stats(*n2).forged_peer_messages == 0);

  // Another process reaches n1's port and sends s1 a vote "from" s2 (whose node is n2).
  outsider attacker{[](caf::actor_system_config& c) { actors::announce_ra_types(c); }};
  auto dir = attacker.directory(attacker.node_actor(node_port(*n1)));
  REQUIRE(dir.count("s1"));
  {
    caf::scoped_actor self{*attacker.sys};
    self->send(dir["s1"], actors::peer_atom::value, s2, request_vote_result{term_t{1000}, true});
    self->send(dir["s1"], actors::peer_atom::value, s2, pre_vote_result{term_t{1000}, 0, true});
  }
  CHECK(eventually([&] { return security_stats(*n1).forged_peer_messages == 2; }, 5s));

  // A CAF exit message from there (anonymous, or with its sender) does not end s1. (Not
  // exit_reason::kill: CAF 0.17 makes it fatal before any exit handler runs; only TLS keeps
  // such a peer out, see docs/runtime.md.)
  caf::anon_send_exit(dir["s1"], caf::exit_reason::user_shutdown);
  {
    caf::scoped_actor self{*attacker.sys};
    self->send_exit(dir["s1"], caf::exit_reason::user_shutdown);
  }
  CHECK(eventually([&] { return security_stats(*n1).ignored_exits == 2; }, 5s));
  std::this_thread::sleep_for(200ms);
  CHECK(n1->is_running("s1"));
  auto r = process_command<int64_t>(*n1, s1, int64_t{1}, 10s);
  REQUIRE(r);
  CHECK(r->reply == 2);
  // A local stop still works.
  CHECK(n1->stop_server(s1));
  CHECK_FALSE(n1->is_running("s1"));
}

TEST_CASE("distributed: a byte field whose length prefix exceeds the bound is refused before allocating",
          "[distributed][security]") {
  temp_dir d1;
  auto c1 = distributed_config("n1", d1.path(), {});
  auto n1 = start_system(std::move(c1));
  server_id s1{"s1", "n1"};
  REQUIRE(start_server(*n1, "big", s1, "counter", {member{s1}}));
  REQUIRE(trigger_election(*n1, s1));
  REQUIRE(process_command<int64_t>(*n1, s1, int64_t{1}, 15s));

  // A message of a few bytes whose command payload claims 1 GiB (CAF 0.17 would resize a
  // vector to that, zero-filled, before noticing the bytes are missing).
  outsider attacker{[](caf::actor_system_config& c) { c.add_message_type<lying_bytes>("ra::shared_bytes"); }};
  auto dir = attacker.directory(attacker.node_actor(node_port(*n1)));
  REQUIRE(dir.count("s1"));
  REQUIRE(reset_peak_rss());
  const auto before = peak_rss();
  REQUIRE(before > 0);
  {
    caf::scoped_actor self{*attacker.sys};
    for (int i = 0; i < 3; ++i)
      self->send(dir["s1"], actors::command_atom::value, lying_bytes{1u << 30}, uint8_t{2});
    // Anything sent after it over the same connection arrives after it was read.
    attacker.directory(attacker.node_actor(node_port(*n1)));
  }
  std::this_thread::sleep_for(300ms);
  const auto after = peak_rss();
  INFO("peak RSS before " << before << ", after " << after);
  CHECK(after < before + (64u << 20));
  auto r = process_command<int64_t>(*n1, s1, int64_t{1}, 10s);
  REQUIRE(r);
  CHECK(r->reply == 2);
  CHECK(n1->is_running("s1"));
}

TEST_CASE("distributed: mutual TLS links nodes with certificates of the cluster CA and refuses others",
          "[distributed][security]") {
  temp_dir certs, d1, d2, d3, d4;
  make_test_certs(certs);
  auto tls_config = [&](const std::string& name, const std::string& dir, peer_map peers, const std::string& cert) {
    return with_test_cert(distributed_config(name, dir, std::move(peers)), certs, cert);
  };
  // Incomplete TLS settings are refused.
  auto partial = tls_config("n9", d4.path(), {}, "n1");
  partial.tls_ca_file.clear();
  auto bad = ra::system::start(partial);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == api_errc::invalid_argument);

  auto n1 = start_system(tls_config("n1", d1.path(), {}, "n1"));
  const auto p1 = node_port(*n1);
  auto n2 = start_system(tls_config("n2", d2.path(), {{"n1", {"127.0.0.1", p1}}}, "n2"));
  REQUIRE(eventually([&] { return connected_to(*n1, "n2") && connected_to(*n2, "n1"); }, 10s));
  server_id s1{"s1", "n1"}, s2{"s2", "n2"};
  std::vector<member> all{member{s1}, member{s2}};
  REQUIRE(start_server(*n1, "tls", s1, "counter", all));
  REQUIRE(start_server(*n2, "tls", s2, "counter", all));
  REQUIRE(trigger_election(*n1, s1));
  auto r = process_command<int64_t>(*n2, s2, int64_t{4}, 15s);
  REQUIRE(r);
  CHECK(r->reply == 4);

  // A node whose certificate comes from another CA is refused in the TLS handshake.
  spdlog::warn("test: the rogue node starts");
  auto rogue = start_system(tls_config("n3", d3.path(), {{"n1", {"127.0.0.1", p1}}}, "rogue"));
  // A plain CAF client (no TLS) gets nothing either: not even the node actor.
  outsider plain{[](caf::actor_system_config& c) { actors::announce_ra_types(c); }};
  spdlog::warn("test: the plain client connects");
  auto got = plain.sys->middleman().remote_actor("127.0.0.1", p1);
  CHECK_FALSE(got);
  spdlog::warn("test: the plain client is done");
  std::this_thread::sleep_for(ms{3 * down_after_ms});
  CHECK_FALSE(connected_to(*n1, "n3"));
  CHECK_FALSE(connected_to(*rogue, "n1"));
  CHECK(connected_to(*n1, "n2"));
}

TEST_CASE("distributed: with TLS a node must hold a certificate for the name it claims", "[distributed][security]") {
  temp_dir certs, d1, d2, d3;
  make_test_certs(certs);
  auto tls_config = [&](const std::string& name, const std::string& dir, peer_map peers, const std::string& cert) {
    return with_test_cert(distributed_config(name, dir, std::move(peers)), certs, cert);
  };
  // A key that is not the certificate's is refused at start.
  auto mismatched = tls_config("n1", d1.path(), {}, "n1");
  mismatched.tls_key = certs.path() + "/n2.key";
  auto bad = ra::system::start(mismatched);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == api_errc::invalid_argument);

  // An impostor with a valid certificate of the cluster CA, issued to n3, calls itself n2
  // (n2 is not running, so no live link protects the name).
  auto impostor = start_system(tls_config("n2", d2.path(), {}, "n3"));
  const auto ip = node_port(*impostor);
  // n1 dials it as its configured peer n2: the answer's proof names n3, not n2.
  auto n1 = start_system(tls_config("n1", d1.path(), {{"n2", {"127.0.0.1", ip}}}, "n1"));
  const auto p1 = node_port(*n1);
  REQUIRE(eventually([&] { return security_stats(*n1).refused_hellos >= 1; }, 10s));
  std::this_thread::sleep_for(ms{3 * down_after_ms});
  // (The impostor checked n1's proof, which holds, so it may count n1 as linked: what
  // matters is that n1 does not take it for n2.)
  CHECK(connected_nodes(*n1).empty());
  impostor.reset();
  // The impostor dials n1 instead: n1 refuses its hello.
  const auto before = security_stats(*n1).refused_hellos;
  auto dialler = start_system(tls_config("n2", d2.path(), {{"n1", {"127.0.0.1", p1}}}, "n3"));
  REQUIRE(eventually([&] { return security_stats(*n1).refused_hellos > before; }, 10s));
  std::this_thread::sleep_for(ms{3 * down_after_ms});
  CHECK_FALSE(connected_to(*n1, "n2"));
  CHECK(connected_nodes(*dialler).empty());

  // The real n2 (its certificate names n2) links with n1 at once.
  dialler.reset();
  auto n2 = start_system(tls_config("n2", d3.path(), {{"n1", {"127.0.0.1", p1}}}, "n2"));
  REQUIRE(eventually([&] { return connected_to(*n1, "n2") && connected_to(*n2, "n1"); }, 10s));
}
