// Elections: pre-vote, votes, durability of votes, leader transfer.
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"

using namespace ra;
using namespace ra::test;

TEST_CASE("a triggered election in a new 3-member cluster elects exactly one leader", "[election]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  REQUIRE(c.leader() == "a");
  CHECK(c["a"].current_term() == term_t{1});
  for (auto n : {"b", "c"}) {
    CHECK(c[n].current_role() == role::follower);
    CHECK(c[n].leader() == sid("a"));
    CHECK(c[n].current_term() == term_t{1});
  }
  // The new leader's noop is committed and applied everywhere.
  for (auto n : {"a", "b", "c"}) CHECK(c[n].commit_index() == index_t{1});
}

TEST_CASE("a brand-new server arms no election timer and a recovered one does", "[election]") {
  cluster c{{"a", "b", "c"}};
  CHECK(c.at("a").timers.empty());
  c.elect("a");
  c.crash("b");
  c.restart("b");
  CHECK(c.at("b").timers.count(timer_kind::election) == 1);
}

TEST_CASE("the vote is persisted before the grant is sent", "[election][durability]") {
  cluster c{{"a", "b", "c"}};
  c["a"].handle_trigger_election();
  c.run();
  // In b's actions, the persist of voted_for=a precedes the granted vote reply.
  int persist_pos = -1, grant_pos = -1, pos = 0;
  for (auto& [name, a] : c.log_) {
    if (name == "b") {
      if (auto p = std::get_if<persist_meta_action>(&a); p && p->voted_for == sid("a") && persist_pos < 0) persist_pos = pos;
      if (auto s = std::get_if<send_action>(&a))
        if (auto r = std::get_if<request_vote_result>(&s->msg); r && r->vote_granted && grant_pos < 0) grant_pos = pos;
    }
    ++pos;
  }
  REQUIRE(persist_pos >= 0);
  REQUIRE(grant_pos >= 0);
  CHECK(persist_pos < grant_pos);
  // And a restart keeps the vote: b cannot vote for someone else in term 1.
  CHECK(c.at("b").meta.voted_for == sid("a"));
  CHECK(c.at("b").meta.current_term == term_t{1});
}

TEST_CASE("pre-vote keeps a partitioned member from disrupting a healthy cluster", "[election][pre_vote]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.isolate("c");
  c["c"].handle_leader_down();
  for (int i = 0; i < 5; ++i) {
    c.fire("c", timer_kind::election);
    c.run();
  }
  CHECK(c["c"].current_term() == term_t{1});  // pre-vote never bumps the term
  CHECK(c["c"].current_role() == role::pre_vote);
  c.heal();
  // c's next pre-vote reaches the others: they have a live leader and reject it, and the
  // leader reminds c who leads.
  c.fire("c", timer_kind::election);
  c.run();
  CHECK(c.leader() == "a");
  CHECK(c["a"].current_term() == term_t{1});
  CHECK(c["c"].current_role() == role::follower);
  CHECK(c["c"].leader() == sid("a"));
}

TEST_CASE("pre-vote is refused to a member whose log is stale", "[election][pre_vote]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.cut("a", "c");
  c.command("a", 5);
  c.run();
  REQUIRE(c["b"].commit_index() == index_t{2});
  REQUIRE(c["c"].log().last_index() == index_t{1});
  // The leader dies; c (stale) asks first, b refuses; then b wins.
  c.crash("a");
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("c", timer_kind::election);
  c.run();
  CHECK(c["c"].current_role() == role::pre_vote);
  CHECK(c["c"].current_term() == term_t{1});
  c.fire("b", timer_kind::election);
  c.run();
  CHECK(c.leader() == "b");
  CHECK(c.applied("c") == std::vector<int64_t>{5});
}

TEST_CASE("a higher term from any message makes a leader step down", "[election]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.isolate("a");
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  c.run();
  REQUIRE(c["b"].current_role() == role::leader);
  REQUIRE(c["a"].current_role() == role::leader);  // stale, in the minority
  auto client = c.command("a", 1);
  c.heal();
  c.fire("a", timer_kind::tick);  // its resend meets the higher term
  c.run();
  CHECK(c["a"].current_role() == role::follower);
  CHECK(c["a"].current_term() == c["b"].current_term());
  auto r = c.reply_for(client);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::leadership_lost);
}

TEST_CASE("leader transfer hands leadership to an up-to-date voter", "[election][transfer]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto client = c.next_client();
  c["a"].handle_transfer_leadership(client, sid("b"));
  c.collect();
  CHECK(c["a"].current_role() == role::await_condition);
  c.run();
  CHECK(c.leader() == "b");
  CHECK(c["b"].current_term() == term_t{2});
  CHECK(c["a"].current_role() == role::follower);
  auto r = c.reply_for(client);
  REQUIRE(r);
  CHECK_FALSE(r->error);
}

TEST_CASE("leader transfer to a lagging member is refused", "[election][transfer]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.cut("a", "c");
  c.command("a", 1);
  c.run();
  auto client = c.next_client();
  c["a"].handle_transfer_leadership(client, sid("c"));
  c.collect();
  auto r = c.reply_for(client);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::not_up_to_date);
  CHECK(c["a"].current_role() == role::leader);
}

TEST_CASE("leader transfer errors: self, unknown member, non-voter, not leader", "[election][transfer]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto expect_error = [&](const std::string& at, const server_id& target, error_code code) {
    auto client = c.next_client();
    c[at].handle_transfer_leadership(client, target);
    c.collect();
    auto r = c.reply_for(client);
    REQUIRE(r);
    REQUIRE(r->error);
    CHECK(r->error->code == code);
  };
  expect_error("a", sid("a"), error_code::already_leader);
  expect_error("a", sid("zz"), error_code::unknown_member);
  expect_error("b", sid("c"), error_code::not_leader);
  c.add_server("d", {});
  auto add = c.next_client();
  c["a"].handle_membership(membership_request{add, membership_op::add, member{sid("d"), membership::non_voter, {}}});
  c.run();
  expect_error("a", sid("d"), error_code::non_voter);
}

TEST_CASE("a failed transfer returns the leader to leading after the await_condition timeout", "[election][transfer]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.cut_one_way("a", "b");  // timeout_now is lost
  auto client = c.next_client();
  c["a"].handle_transfer_leadership(client, sid("b"));
  c.run();
  REQUIRE(c["a"].current_role() == role::await_condition);
  auto during = c.command("a", 3);
  auto r = c.reply_for(during);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::not_leader);
  c.fire("a", timer_kind::await_condition);
  c.heal();
  CHECK(c["a"].current_role() == role::leader);
  auto after = c.command("a", 3);
  c.run();
  REQUIRE(c.reply_for(after));
  CHECK_FALSE(c.reply_for(after)->error);
}

TEST_CASE("a split vote is retried through pre-vote and converges", "[election]") {
  cluster c{{"a", "b", "c", "d"}};
  // a and c both become candidates in term 1 with b and d split between them.
  c["a"].handle_trigger_election();
  c["c"].handle_trigger_election();
  c.run();
  for (int round = 0; round < 20 && c.leader().empty(); ++round) {
    // Fire one armed election timer at a time (a real clock would spread them).
    for (auto n : c.names())
      if (c.at(n).timers.count(timer_kind::election)) {
        c.fire(n, timer_kind::election);
        c.run();
        break;
      }
  }
  auto l = c.leader();
  REQUIRE(!l.empty());
  int leaders = 0;
  for (auto n : c.names()) leaders += c[n].current_role() == role::leader;
  CHECK(leaders == 1);
}
