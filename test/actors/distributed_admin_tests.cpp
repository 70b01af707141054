// Servers started, restarted, stopped and deleted on their own nodes (actors/node_admin.hpp):
// start_cluster / start_or_restart_cluster / delete_cluster called on one node act on the
// members of the other nodes through the node actors, over the middleman (in-process
// resolution off), and a process that is not a linked node cannot use it.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "test/actors/distributed_fixture.hpp"
#include "test/actors/runtime_fixture.hpp"
#include "ra/api.hpp"
#include "actors/messages.hpp"
#include "actors/node_link.hpp"
#include "ra/machines/kv.hpp"

using namespace ra;
using namespace ra::test;
using namespace std::chrono_literals;

namespace {

bool contains(const std::vector<server_id>& v, const server_id& id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

}  // namespace

TEST_CASE("distributed: start_cluster, start_or_restart_cluster and delete_cluster act on every member's own node",
          "[distributed][admin]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3);
  auto& n1 = *nodes["n1"];
  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"};
  std::vector<server_id> ids{s1, s2, s3};

  // One call on n1 starts the members of n2 and n3 there and elects a leader.
  auto c = start_cluster(n1, "multi", "counter", ids, 15s);
  if (!c) FAIL(c.error().to_string());
  CHECK(c->started == ids);
  CHECK(c->not_started.empty());
  CHECK(contains(ids, c->leader));
  CHECK(nodes["n2"]->is_running("s2"));
  CHECK(nodes["n3"]->is_running("s3"));
  auto five = process_command<int64_t>(*nodes["n3"], s3, int64_t{5}, 10s);
  REQUIRE(five);
  CHECK(five->reply == 5);
  for (auto& id : ids) CHECK(await_local(*nodes[id.node], id, 5) == 5);

  // Stopped on their nodes from n1; their nodes report them known but not running.
  REQUIRE(stop_server_on_node(n1, s2));
  REQUIRE(stop_server_on_node(n1, s3));
  CHECK_FALSE(nodes["n2"]->is_running("s2"));
  CHECK_FALSE(nodes["n3"]->is_running("s3"));
  auto p2 = server_status_on_node(n1, s2);
  REQUIRE(p2);
  CHECK(p2->known);
  CHECK_FALSE(p2->running);
  // Stopping one that does not run is an error from its node.
  auto again = stop_server_on_node(n1, s2);
  REQUIRE(!again);
  CHECK(again.error().code == api_errc::noproc);

  // start_or_restart_cluster on n1 restarts them on their nodes from their data.
  auto r = start_or_restart_cluster(n1, "multi", "counter", ids, 15s);
  if (!r) FAIL(r.error().to_string());
  CHECK(r->started.size() == 3);
  CHECK(r->not_started.empty());
  CHECK(nodes["n2"]->is_running("s2"));
  CHECK(nodes["n3"]->is_running("s3"));
  CHECK(await_local(*nodes["n2"], s2, 5) == 5);
  auto twelve = process_command<int64_t>(n1, s1, int64_t{7}, 10s);
  REQUIRE(twelve);
  CHECK(twelve->reply == 12);
  for (auto& id : ids) CHECK(await_local(*nodes[id.node], id, 12) == 12);

  // Key metrics read on each member's node, asked from n1: the same values as the block
  // each server publishes in this process.
  for (auto& id : ids) {
    INFO(id.to_string());
    auto remote = key_metrics_on_node(n1, id);
    REQUIRE(remote);
    auto here = key_metrics(id);
    REQUIRE(here);
    CHECK(remote->running);
    CHECK(remote->last_applied == here->last_applied);
    CHECK(remote->commit_index == here->commit_index);
    CHECK(remote->term == here->term);
    CHECK(remote->state == here->state);
    CHECK(remote->last_applied >= 3);
  }
  auto leader_metrics = key_metrics_on_node(*nodes["n2"], twelve->leader);
  REQUIRE(leader_metrics);
  CHECK(leader_metrics->state == role::leader);
  CHECK(leader_metrics->commands >= 1);
  auto never = key_metrics_on_node(n1, server_id{"nobody", "n3"});
  REQUIRE(!never);
  CHECK(never.error().code == api_errc::noproc);

  // delete_cluster from n1: every member is gone from its node, data included. s3 is
  // stopped first: it would never apply the entry, so n1 has it deleted on n3.
  REQUIRE(stop_server_on_node(n1, s3));
  REQUIRE(delete_cluster(n1, ids, 15s));
  CHECK(n1.uid_of("s1").empty());
  CHECK(nodes["n2"]->uid_of("s2").empty());
  CHECK(nodes["n3"]->uid_of("s3").empty());
  auto gone = server_status_on_node(n1, s2);
  REQUIRE(gone);
  CHECK_FALSE(gone->known);
}

TEST_CASE("distributed: start_cluster reports members whose node cannot start them", "[distributed][admin]") {
  temp_dir d1, d2, d3;
  // Only n1 has the kv machine.
  auto nodes = start_three_nodes(d1, d2, d3, [](system_config c) {
    if (c.name == "n1") c.machines["kv"] = [](const std::string&) { return machines::make_kv_machine(); };
    return c;
  });
  auto& n1 = *nodes["n1"];
  server_id k1{"k1", "n1"}, k2{"k2", "n2"}, k3{"k3", "n3"}, k4{"k4", "n4"};
  auto c = start_cluster(n1, "kv", "kv", {k1, k2, k3}, 10s);
  REQUIRE(!c);
  CHECK(c.error().code == api_errc::cluster_not_formed);
  CHECK(c.error().message.find("unknown machine") != std::string::npos);
  CHECK(n1.uid_of("k1").empty());  // the one that started was deleted again
  CHECK(nodes["n2"]->uid_of("k2").empty());

  // With a majority startable: the others are reported, with why. n4 is no node at all.
  auto ok = start_cluster(n1, "counters", "counter", {server_id{"c1", "n1"}, server_id{"c2", "n2"}, k4}, 15s);
  if (!ok) FAIL(ok.error().to_string());
  CHECK(ok->started.size() == 2);
  REQUIRE(ok->not_started == std::vector<server_id>{k4});
  REQUIRE(ok->not_started_errors.size() == 1);
  CHECK(ok->not_started_errors[0].code == api_errc::noproc);
  CHECK(ok->not_started_errors[0].message.find("n4") != std::string::npos);

  // start_or_restart_cluster over the same members: n1 and n2 know theirs (running: they
  // count as started), the member of a node that does not exist is reported.
  std::vector<server_id> same{server_id{"c1", "n1"}, server_id{"c2", "n2"}, k4};
  auto again = start_or_restart_cluster(n1, "counters", "counter", same, 15s);
  if (!again) FAIL(again.error().to_string());
  CHECK(again->started.size() == 2);
  CHECK(again->not_started == std::vector<server_id>{k4});
  CHECK(again->not_started_errors.size() == 1);
  CHECK(again->leader == ok->leader);
  // A brand-new cluster through start_or_restart_cluster: nobody knows its members, so it
  // is started on their nodes.
  std::vector<server_id> fresh{server_id{"d1", "n1"}, server_id{"d2", "n2"}, server_id{"d3", "n3"}};
  auto started = start_or_restart_cluster(n1, "fresh", "counter", fresh, 15s);
  if (!started) FAIL(started.error().to_string());
  CHECK(started->started == fresh);
  CHECK(nodes["n3"]->is_running("d3"));
}

TEST_CASE("distributed: server requests are taken from linked nodes only", "[distributed][admin][security]") {
  temp_dir d1, d2;
  auto n1 = start_system(distributed_config("n1", d1.path(), {}));
  auto n2 = start_system(distributed_config("n2", d2.path(), {{"n1", {"127.0.0.1", node_port(*n1)}}}));
  REQUIRE(eventually([&] { return connected_to(*n1, "n2") && connected_to(*n2, "n1"); }, 5s));

  actors::node_server_request start;
  start.op = static_cast<uint8_t>(actors::server_op::start);
  start.id = server_id{"x1", "n1"};
  start.cluster_name = "x";
  start.machine = "counter";
  start.members = {member{start.id}};
  auto ask = [](outsider& o, const caf::actor& node, const actors::node_server_request& req) {
    actors::node_server_result out;
    caf::scoped_actor self{*o.sys};
    self->request(node, 5s, actors::node_server_atom::value, req)
      .receive([&](actors::node_server_result& r) { out = std::move(r); },
               [&](caf::error& e) { FAIL("no answer: " << o.sys->render(e)); });
    return out;
  };

  // A process that reached n1's port but never said hello: refused, nothing started.
  outsider stranger{[](caf::actor_system_config& c) { actors::announce_ra_types(c); }};
  auto n1_node = stranger.node_actor(node_port(*n1));
  auto refused = ask(stranger, n1_node, start);
  CHECK(refused.failed);
  CHECK(refused.code == static_cast<uint8_t>(api_errc::invalid_argument));
  CHECK(n1->uid_of("x1").empty());
  CHECK(security_stats(*n1).refused_server_requests == 1);

  // Once it says hello under a name nobody holds it is a linked node (the documented
  // limit: names are not bound to certificates) ...
  auto me = stranger.sys->spawn([](caf::event_based_actor*, int) -> caf::behavior {
    return {[](actors::node_ping_atom, const std::string&, uint64_t) {}};
  }, 0);
  {
    caf::scoped_actor self{*stranger.sys};
    self->request(n1_node, 5s, actors::node_hello_atom::value, std::string("n9"), me)
      .receive([](const std::string&) {}, [&](caf::error& e) { FAIL("hello refused: " << stranger.sys->render(e)); });
  }
  // ... but it cannot make n1 act on another node's servers (only local callers are
  // forwarded): refused, and n2 is untouched.
  auto for_n2 = start;
  for_n2.id = server_id{"x2", "n2"};
  for_n2.members = {member{for_n2.id}};
  auto forwarded = ask(stranger, n1_node, for_n2);
  CHECK(forwarded.failed);
  CHECK(forwarded.code == static_cast<uint8_t>(api_errc::invalid_argument));
  std::this_thread::sleep_for(200ms);
  CHECK(n2->uid_of("x2").empty());
  CHECK(security_stats(*n1).refused_server_requests == 2);

  // The real n2 asks n1 (through its own node actor): done.
  REQUIRE(start_server_on_node(*n2, "x", start.id, "counter", start.members));
  CHECK(n1->is_running("x1"));
  caf::anon_send_exit(me, caf::exit_reason::user_shutdown);
}

TEST_CASE("distributed: join_cluster starts a server on another node and adds it in one call",
          "[distributed][admin]") {
  temp_dir d1, d2, d3;
  auto nodes = start_three_nodes(d1, d2, d3);
  server_id s1{"s1", "n1"}, s2{"s2", "n2"}, s3{"s3", "n3"};
  auto c = start_cluster(*nodes["n1"], "grow", "counter", {s1, s2}, 15s);
  if (!c) FAIL(c.error().to_string());
  REQUIRE(process_command<int64_t>(*nodes["n1"], s1, int64_t{9}, 10s));
  CHECK_FALSE(nodes["n3"]->is_running("s3"));

  // From n2, through a member of the cluster: s3 is started on n3 and becomes a member.
  auto leader = join_cluster(*nodes["n2"], s2, member{s3}, 15s);
  if (!leader) FAIL(leader.error().to_string());
  CHECK((*leader == s1 || *leader == s2));
  CHECK(nodes["n3"]->is_running("s3"));
  auto m = members(*nodes["n1"], s1, 5s);
  REQUIRE(m);
  CHECK(m->members.size() == 3);
  CHECK(await_local(*nodes["n3"], s3, 9) == 9);  // it caught up

  // Joining through a server that does not exist changes nothing on n3.
  server_id ghost{"ghost", "n1"}, s4{"s4", "n3"};
  auto refused = join_cluster(*nodes["n2"], ghost, member{s4}, 3s);
  CHECK_FALSE(refused);
  CHECK_FALSE(nodes["n3"]->is_running("s4"));
}
