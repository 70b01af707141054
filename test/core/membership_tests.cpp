// Single-server membership changes, member kinds, promotion, removal of the leader.
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"

using namespace ra;
using namespace ra::test;

namespace {
const reply_action* change(cluster& c, const std::string& at, membership_op op, const std::string& who,
                           membership kind = membership::voter) {
  auto client = c.next_client();
  c[at].handle_membership(membership_request{client, op, member{sid(who), kind, {}}});
  c.run();
  return c.reply_for(client);
}
}  // namespace

TEST_CASE("an added voter catches up and counts in the quorum", "[membership]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.command("a", 1);
  c.run();
  c.add_server("d", {});
  auto r = change(c, "a", membership_op::add, "d");
  REQUIRE(r);
  CHECK_FALSE(r->error);
  CHECK(c["a"].cluster().voter_count() == 4);
  CHECK(c["d"].cluster().is_voter(sid("d")));
  CHECK(c.applied("d") == std::vector<int64_t>{1});
  // Quorum of 4 is 3: with b and c cut off, nothing commits.
  c.cut("a", "b");
  c.cut("a", "c");
  auto client = c.command("a", 2);
  c.run();
  CHECK_FALSE(c.reply_for(client));
  c.heal();
  c.fire("a", timer_kind::tick);
  c.run();
  CHECK(c.reply_for(client));
}

TEST_CASE("only one uncommitted membership change at a time", "[membership]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.add_server("d", {});
  c.add_server("e", {});
  c.cut("a", "b");
  c.cut("a", "c");  // the first change cannot commit
  auto first = c.next_client(), second = c.next_client();
  c["a"].handle_membership(membership_request{first, membership_op::add, member{sid("d"), membership::voter, {}}});
  c["a"].handle_membership(membership_request{second, membership_op::add, member{sid("e"), membership::voter, {}}});
  c.run();
  CHECK_FALSE(c.reply_for(first));
  auto r = c.reply_for(second);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::cluster_change_not_permitted);
  // The change took effect on append: a already replicates to d.
  CHECK(c["a"].cluster().contains(sid("d")));
}

TEST_CASE("membership changes wait for the new leader's noop to commit", "[membership]") {
  cluster c{{"a", "b", "c"}};
  c["a"].handle_trigger_election();
  // Deliver until a is leader but nothing more.
  c.collect();
  while (c["a"].current_role() != role::leader) c.deliver_one();
  auto r = change(c, "a", membership_op::remove, "c");  // run() afterwards commits the noop
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::cluster_change_not_permitted);
  r = change(c, "a", membership_op::remove, "c");
  REQUIRE(r);
  CHECK_FALSE(r->error);
}

TEST_CASE("a promotable member is promoted to voter once caught up", "[membership][promotion]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  for (int i = 0; i < 5; ++i) c.command("a", i);
  c.run();
  c.add_server("d", {});
  auto r = change(c, "a", membership_op::add, "d", membership::promotable);
  REQUIRE(r);
  CHECK_FALSE(r->error);
  c.run();
  auto m = c["a"].cluster().find(sid("d"));
  REQUIRE(m);
  CHECK(m->kind == membership::voter);
  CHECK(c["a"].cluster().voter_count() == 4);
  CHECK(c["d"].cluster().is_voter(sid("d")));
}

TEST_CASE("a non-voter is replicated to but never stands for election or counts in a quorum", "[membership][non_voter]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.add_server("d", {});
  auto r = change(c, "a", membership_op::add, "d", membership::non_voter);
  REQUIRE(r);
  c.command("a", 4);
  c.run();
  CHECK(c.applied("d") == std::vector<int64_t>{4});
  CHECK(c["a"].cluster().voter_count() == 3);
  // A non-voter ignores election triggers and timeouts.
  c["d"].handle_trigger_election();
  c.fire("d", timer_kind::election);
  CHECK(c["d"].current_role() == role::follower);
  // And its acknowledgement does not make a quorum: with b and c cut, no commit.
  c.cut("a", "b");
  c.cut("a", "c");
  auto client = c.command("a", 5);
  c.run();
  CHECK_FALSE(c.reply_for(client));
}

TEST_CASE("a removed follower stops receiving entries", "[membership]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto r = change(c, "a", membership_op::remove, "c");
  REQUIRE(r);
  CHECK_FALSE(r->error);
  c.command("a", 1);
  c.run();
  CHECK(c.applied("b") == std::vector<int64_t>{1});
  CHECK(c.applied("c").empty());
  CHECK(c["a"].cluster().voter_count() == 2);
  auto again = change(c, "a", membership_op::remove, "c");
  REQUIRE(again);
  REQUIRE(again->error);
  CHECK(again->error->code == error_code::unknown_member);
}

TEST_CASE("a removed leader steps down after the change commits and a voter takes over", "[membership]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto r = change(c, "a", membership_op::remove, "a");
  REQUIRE(r);
  CHECK_FALSE(r->error);
  CHECK(c["a"].current_role() == role::follower);
  auto l = c.leader();
  REQUIRE((l == "b" || l == "c"));
  CHECK_FALSE(c[l].cluster().contains(sid("a")));
  c.command(l, 1);
  c.run();
  CHECK(c.applied(l) == std::vector<int64_t>{1});
}

TEST_CASE("a membership change survives a leader change when it reached a majority", "[membership][leader_change]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.add_server("d", {});
  c.cut("a", "c");
  c.cut("a", "d");
  auto client = c.next_client();
  c["a"].handle_membership(membership_request{client, membership_op::add, member{sid("d"), membership::voter, {}}});
  c.run();  // reaches b only; with d a voter, quorum is 3 of 4: not committed
  CHECK_FALSE(c.reply_for(client));
  c.crash("a");
  c.heal();
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  c.run();
  REQUIRE(c.leader() == "b");
  // b holds the change (effective on append), so d is a member under b as well.
  CHECK(c["b"].cluster().contains(sid("d")));
  CHECK(c["c"].cluster().contains(sid("d")));
  c.command("b", 1);
  c.run();
  CHECK(c.applied("d") == std::vector<int64_t>{1});
}

TEST_CASE("an uncommitted membership change is rolled back when its entry is truncated", "[membership][leader_change]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.add_server("d", {});
  c.isolate("a");
  auto client = c.next_client();
  c["a"].handle_membership(membership_request{client, membership_op::add, member{sid("d"), membership::voter, {}}});
  c.run();
  CHECK(c["a"].cluster().contains(sid("d")));
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  c.run();
  REQUIRE(c.leader() == "b");
  c.command("b", 1);
  c.run();
  c.heal();
  c.fire("b", timer_kind::tick);
  c.run();
  CHECK(c["a"].current_role() == role::follower);
  CHECK_FALSE(c["a"].cluster().contains(sid("d")));
  auto r = c.reply_for(client);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::leadership_lost);
}

TEST_CASE("a member promoted by an entry it has not received yet still votes", "[membership][promotion][election]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.add_server("d", {});
  REQUIRE(change(c, "a", membership_op::add, "d", membership::non_voter));
  // d stops hearing from a; a makes d a voter (committed by a, b, c: 3 of 4 voters).
  c.cut("a", "d");
  auto r = change(c, "a", membership_op::add, "d", membership::voter);
  REQUIRE(r);
  REQUIRE_FALSE(r->error);
  REQUIRE(c["c"].cluster().is_voter(sid("d")));
  REQUIRE_FALSE(c["d"].cluster().is_voter(sid("d")));  // d does not know
  c.crash("a");
  c.heal();
  for (auto n : {"b", "c", "d"}) c[n].handle_leader_down();
  c.fire("c", timer_kind::election);
  c.run();
  // Voters a, b, c, d: quorum 3. With a down, c needs both b and d — and d, which still
  // believes it is a non-voter, must answer.
  CHECK(c.leader() == "c");
}

TEST_CASE("a server answers vote requests even while it believes it is not a voter", "[membership][election]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.add_server("d", {});
  REQUIRE(change(c, "a", membership_op::add, "d", membership::non_voter));
  // d believes it is a non-voter; it still answers a pre-vote (the candidate decides
  // whether to count it).
  c["d"].handle(sid("b"),
                pre_vote_rpc{c["d"].current_term() + 1, sid("b"), c["d"].log().last_index(),
                             *c["d"].log().term_at(c["d"].log().last_index()), 42, 0});
  c.collect();
  bool answered = false;
  for (auto& env : c.network())
    if (auto r = std::get_if<pre_vote_result>(&env.msg); r && env.from == sid("d") && r->token == 42) answered = true;
  CHECK(answered);
}

// F8: the removed leader hands over with one timeout_now and steps down, but stays alive,
// so the followers' failure detectors never fire. If that message is lost, the followers
// must still elect: they stop counting on a leader that is no longer a member.
TEST_CASE("a removed leader's lost timeout_now does not leave the followers waiting forever", "[membership][f8]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.command("a", 1);
  c.run();
  auto client = c.next_client();
  c["a"].handle_membership(membership_request{client, membership_op::remove, member{sid("a"), membership::voter, {}}});
  auto drop_timeout_now = [&] {
    std::erase_if(c.network(), [](const envelope& e) { return std::holds_alternative<timeout_now_rpc>(e.msg); });
  };
  c.collect();
  for (int i = 0; i < 100000; ++i) {
    c.sync_all();
    drop_timeout_now();
    if (c.network().empty()) {
      c.collect();
      drop_timeout_now();
      if (c.network().empty()) break;
    }
    c.deliver_one();
  }
  REQUIRE(c.reply_for(client));
  CHECK(c["a"].current_role() == role::follower);
  CHECK(c.leader().empty());
  // Neither follower is left without an election timer, and its firing elects.
  for (auto name : {"b", "c"}) {
    CHECK(c.timers(name).count(timer_kind::election) == 1);
  }
  c.fire("b", timer_kind::election);
  c.run();
  auto l = c.leader();
  REQUIRE((l == "b" || l == "c"));
  c.command(l, 2);
  c.run();
  CHECK(c.applied(l) == std::vector<int64_t>{1, 2});
}

// Raft thesis 4.2.2: a server that the latest, uncommitted change removes must still stand
// for election, not counting its own vote. Real seed 2627 (reorder disk model): the leader
// of {a,b,c,d} appended its own removal and crashed before it reached anyone; d's disk
// rotted and it could not restart. b and c needed 3 votes of {a,b,c,d}: a refused (its log
// was longer) and, not a voter of its own latest config, never stood itself: no leader ever.
TEST_CASE("a leader whose own removal is uncommitted stands for election after a restart", "[membership][election]") {
  cluster c{{"a", "b", "c", "d"}};
  c.elect("a");
  c.command("a", 1);
  c.run();
  c.crash("d");  // for good
  c.isolate("a");
  auto client = c.next_client();
  c["a"].handle_membership(membership_request{client, membership_op::remove, member{sid("a"), membership::voter, {}}});
  c.collect();
  c.sync("a");  // the removal is durable on a alone
  c.crash("a");
  c.restart("a");
  c.heal();
  CHECK_FALSE(c["a"].cluster().contains(sid("a")));
  auto new_leader = [&] {
    auto l = c.leader();
    return l == "b" || l == "c" ? l : std::string{};
  };
  for (int round = 0; round < 20 && new_leader().empty(); ++round)
    for (auto name : {"a", "b", "c"})
      if (c.timers(name).count(timer_kind::election)) {
        c.fire(name, timer_kind::election);
        c.run();
      }
  auto l = new_leader();
  REQUIRE_FALSE(l.empty());
  CHECK_FALSE(c[l].cluster().contains(sid("a")));
  CHECK(c["a"].current_role() == role::follower);
  c.command(l, 2);
  c.run();
  CHECK(c.applied(l) == std::vector<int64_t>{1, 2});
}
