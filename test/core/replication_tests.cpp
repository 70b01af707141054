// Replication, durability rules, commit rules (Raft figures 7 and 8), client replies.
#include <catch2/catch.hpp>

#include "test/core/cluster_harness.hpp"

using namespace ra;
using namespace ra::test;

TEST_CASE("a command is committed, applied everywhere and answered with the machine's reply", "[replication]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto c1 = c.command("a", 5);
  auto c2 = c.command("a", 7);
  c.run();
  auto r1 = c.reply_for(c1), r2 = c.reply_for(c2);
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(decode<int64_t>(r1->reply) == 5);
  CHECK(decode<int64_t>(r2->reply) == 12);
  CHECK(r2->leader == sid("a"));
  CHECK(r2->index == index_t{3});
  for (auto n : {"a", "b", "c"}) CHECK(c.applied(n) == std::vector<int64_t>{5, 7});
}

TEST_CASE("a follower acknowledges only entries its log reports durable", "[replication][durability]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto client = c.command("a", 1);
  c.sync("a");
  c.run(/*auto_sync=*/false);
  // Followers hold the entry but have not synced it: nothing acknowledged, no commit.
  CHECK(c["b"].log().last_index() == index_t{2});
  CHECK(c["a"].commit_index() == index_t{1});
  CHECK_FALSE(c.reply_for(client));
  c.sync("b");
  c.run(false);
  CHECK(c["a"].commit_index() == index_t{2});
  REQUIRE(c.reply_for(client));
}

TEST_CASE("the leader counts itself only up to its own written index", "[replication][durability]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.cut("a", "c");
  auto client = c.command("a", 1);
  c.run(false);
  c.sync("b");
  c.run(false);
  // b durable + a not durable: only one of three.
  CHECK(c["a"].commit_index() == index_t{1});
  c.sync("a");
  c.run(false);
  CHECK(c["a"].commit_index() == index_t{2});
  CHECK(c.reply_for(client));
}

TEST_CASE("a follower majority commits without the leader's own sync", "[replication][durability]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.command("a", 1);
  c.run(false);
  c.sync("b");
  c.sync("c");
  c.run(false);
  CHECK(c["a"].commit_index() == index_t{2});
}

TEST_CASE("figure 8: an entry of an earlier term is not committed by counting replicas", "[replication][figure8]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.max_append_entries_rpc_batch_size = 1; }};
  c.elect("a");                 // term 1, noop at 1
  c.cut("a", "c");
  c.cut_one_way("b", "a");      // b's acknowledgement never reaches a
  c.command("a", 9);            // index 2, term 1: reaches b only
  c.run();
  REQUIRE(c["b"].log().last_index() == index_t{2});
  REQUIRE(c["a"].commit_index() == index_t{1});
  // b becomes leader of term 2 with c's vote; its noop is index 3.
  c.isolate("a");
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  // Deliver only what is needed for b to win and to replicate index 2 (not 3) to c.
  for (int i = 0; i < 200 && c["b"].current_role() != role::leader; ++i) {
    c.sync_all();
    if (c.network().empty()) break;
    c.deliver_one();
  }
  REQUIRE(c["b"].current_role() == role::leader);
  REQUIRE(c["b"].current_term() == term_t{2});
  // Let c receive AEs but hold back the one carrying index 3 (term 2).
  bool saw_index2_ack = false;
  for (int i = 0; i < 200 && !c.network().empty(); ++i) {
    c.sync_all();
    auto& env = c.network().front();
    if (auto ae = std::get_if<append_entries_rpc>(&env.msg);
        ae && env.to == sid("c") && !ae->entries.empty() && ae->entries.front().index == index_t{3} &&
        c["c"].log().last_index() >= index_t{2}) {
      c.network().pop_front();  // lost
      continue;
    }
    if (auto rep = std::get_if<append_entries_reply>(&env.msg); rep && env.from == sid("c") && rep->success &&
                                                                 rep->last_index == index_t{2})
      saw_index2_ack = true;
    c.deliver_one();
  }
  REQUIRE(saw_index2_ack);
  // Index 2 (term 1) is on b and c, a majority, but must not be committed yet.
  CHECK(c["b"].commit_index() < index_t{2});
  // Once the term-2 noop reaches c, both commit together. (c's match moved during the
  // first tick period; the second tick sees no progress and resends.)
  c.fire("b", timer_kind::tick);
  c.fire("b", timer_kind::tick);
  c.run();
  CHECK(c["b"].commit_index() == index_t{3});
  CHECK(c.applied("b") == std::vector<int64_t>{9});
}

TEST_CASE("figure 7: a follower missing entries catches up from the leader", "[replication][figure7]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.max_append_entries_rpc_batch_size = 2; }};
  c.elect("a");
  c.cut("a", "c");
  for (int i = 1; i <= 7; ++i) c.command("a", i);
  c.run();
  REQUIRE(c["c"].log().last_index() == index_t{1});
  c.heal();
  auto client = c.command("a", 8);
  c.fire("a", timer_kind::tick);
  c.run();
  REQUIRE(c.reply_for(client));
  CHECK(c.applied("c") == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(c["c"].log().last_index() == c["a"].log().last_index());
}

TEST_CASE("a follower with a divergent suffix from an older term has it truncated", "[replication][catch_up]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  // a (term 1) appends two entries only it holds, then is partitioned away.
  c.isolate("a");
  c.command("a", 100);
  c.command("a", 200);
  c.run();
  REQUIRE(c["a"].log().last_index() == index_t{3});
  // b leads term 2 and commits different entries.
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  c.run();
  REQUIRE(c.leader() == "b");
  c.command("b", 1);
  c.command("b", 2);
  c.command("b", 3);
  c.run();
  c.heal();
  c.fire("b", timer_kind::tick);
  c.run();
  CHECK(c["a"].current_role() == role::follower);
  CHECK(c.applied("a") == std::vector<int64_t>{1, 2, 3});
  CHECK(c["a"].log().term_at(index_t{3}) == term_t{2});
}

TEST_CASE("fast back-tracking needs few round trips for a long divergent suffix", "[replication][catch_up]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.max_append_entries_rpc_batch_size = 8; }};
  c.elect("a");
  c.isolate("a");
  for (int i = 0; i < 50; ++i) c.command("a", 1000 + i);  // 50 uncommitted term-1 entries on a
  c.run();
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  c.run();
  REQUIRE(c.leader() == "b");
  c.command("b", 1);
  c.run();
  c.heal();
  auto before = c.delivered().size();
  c.fire("b", timer_kind::tick);
  c.run();
  size_t rejections = 0;
  for (size_t i = before; i < c.delivered().size(); ++i)
    if (auto r = std::get_if<append_entries_reply>(&c.delivered()[i].msg); r && !r->success) ++rejections;
  CHECK(rejections <= 2);  // one per conflicting term, not one per entry
  CHECK(c.applied("a") == std::vector<int64_t>{1});
}

TEST_CASE("pipelining stops at max_pipeline_count entries in flight", "[replication][pipeline]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) {
              cfg.max_pipeline_count = 3;
              cfg.max_append_entries_rpc_batch_size = 1;
            }};
  c.elect("a");
  for (int i = 0; i < 10; ++i) c.command("a", i);
  c.collect();
  size_t to_b = 0;
  for (auto& env : c.network())
    if (env.to == sid("b") && std::holds_alternative<append_entries_rpc>(env.msg)) ++to_b;
  CHECK(to_b == 3);
  c.run();
  CHECK(c.applied("b").size() == 10);
}

TEST_CASE("batches hold at most max_append_entries_rpc_batch_size entries", "[replication][pipeline]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.max_append_entries_rpc_batch_size = 4; }};
  c.elect("a");
  for (int i = 0; i < 10; ++i) c["a"].handle_command(command_request{c.next_client(), encode<int64_t>(i)});
  c.collect();
  size_t biggest = 0, count = 0;
  for (auto& env : c.network())
    if (auto ae = std::get_if<append_entries_rpc>(&env.msg); ae && env.to == sid("b")) {
      biggest = std::max(biggest, ae->entries.size());
      ++count;
    }
  CHECK(biggest == 4);
  CHECK(count == 3);  // 10 commands batched into 4 + 4 + 2
}

TEST_CASE("pipelined commands are notified in batches in log order", "[replication][notify]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto client = c.next_client();
  for (uint64_t corr = 1; corr <= 5; ++corr)
    c["a"].handle_command(command_request{client, encode<int64_t>(10), reply_mode::notify, corr});
  c.run();
  std::vector<uint64_t> order;
  for (auto& n : c.notifications_) {
    CHECK(n.to == client);
    for (auto& [corr, _] : n.applied) order.push_back(corr);
  }
  CHECK(order == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(c.notifications_.size() < 5);  // batched
  // A follower rejects notify-mode commands with a not_leader hint.
  c["b"].handle_command(command_request{client, encode<int64_t>(1), reply_mode::notify, 99});
  c.collect();
  REQUIRE(c.rejections_.size() == 1);
  CHECK(c.rejections_[0].correlation == 99);
  CHECK(c.rejections_[0].error.code == error_code::not_leader);
  CHECK(c.rejections_[0].error.leader == sid("a"));
}

TEST_CASE("low-priority commands are flushed in batches and normal ones overtake them", "[replication][priority]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.low_priority_commands_flush_size = 2; }};
  c.elect("a");
  for (int i = 1; i <= 5; ++i) c.command("a", i, reply_mode::await_consensus, command_priority::low);
  c.command("a", 100);
  REQUIRE(!c.flush_requests_.empty());
  // Before the flush, only the normal command is in the log.
  CHECK(c["a"].log().last_index() == index_t{2});
  while (!c.flush_requests_.empty()) {
    c.flush_requests_.clear();
    c["a"].handle_flush_commands();
    c.collect();
  }
  c.run();
  CHECK(c.applied("a") == std::vector<int64_t>{100, 1, 2, 3, 4, 5});
}

TEST_CASE("after_log_append replies before commit, and noreply never replies", "[replication]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto early = c.command("a", 1, reply_mode::after_log_append);
  auto r = c.reply_for(early);
  REQUIRE(r);
  CHECK(r->index == index_t{2});
  CHECK(c["a"].commit_index() == index_t{1});
  auto silent = c.command("a", 2, reply_mode::noreply);
  c.run();
  CHECK_FALSE(c.reply_for(silent));
  CHECK(c.applied("b") == std::vector<int64_t>{1, 2});
}

TEST_CASE("a crash loses un-synced entries but never acknowledged ones", "[replication][durability]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto acked = c.command("a", 1);
  c.run();
  REQUIRE(c.reply_for(acked));
  c.cut("a", "b");
  c.cut("a", "c");
  c.command("a", 2);  // appended on a only, never synced
  c.collect();
  c.crash("a");
  c.restart("a");
  CHECK(c["a"].log().last_index() == index_t{2});
  c.heal();
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.fire("b", timer_kind::election);
  c.run();
  CHECK(c.applied("a") == std::vector<int64_t>{1});
  CHECK(c.applied("b") == std::vector<int64_t>{1});
}

TEST_CASE("a machine that throws stops only that server, with the reason", "[replication][machine]") {
  cluster c{{"a"}};
  c.elect("a");
  auto client = c.command("a", -999);
  c.run();
  CHECK(c["a"].current_role() == role::stopped);
  CHECK(c["a"].stop_reason().find("poisoned command") != std::string::npos);
  auto r = c.reply_for(client);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::stopped);
}

TEST_CASE("a follower redirects commands to the leader", "[replication]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto client = c.command("b", 1);
  auto r = c.reply_for(client);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::not_leader);
  CHECK(r->error->leader == sid("a"));
}

TEST_CASE("while the log cannot be written the leader refuses commands and resumes after", "[replication][storage]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  auto queued = c.command("a", 1);  // appended, not yet durable anywhere
  c["a"].handle_storage_error("fdatasync /data/wal/0001.wal: Input/output error");
  auto refused = c.command("a", 2);
  auto r = c.reply_for(refused);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::storage_unavailable);
  CHECK(c["a"].log().last_index() == index_t{2});  // the refused one was not appended
  c.run();  // the disk works again: syncs succeed, written moves
  CHECK(c["a"].storage_error().empty());
  REQUIRE(c.reply_for(queued));
  CHECK_FALSE(c.reply_for(queued)->error);
  auto after = c.command("a", 3);
  c.run();
  REQUIRE(c.reply_for(after));
  CHECK_FALSE(c.reply_for(after)->error);
  CHECK(c.applied("b") == std::vector<int64_t>{1, 3});
}

TEST_CASE("with batch_commands a leader appends back-to-back commands as one batch on flush", "[replication][batch]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.batch_commands = true; }};
  c.elect("a");
  auto before = c["a"].log().last_index();
  c.flush_requests_.clear();
  std::vector<client_ref> clients;
  for (int64_t i = 1; i <= 5; ++i) clients.push_back(c.command("a", i));
  // Nothing is appended until the shell delivers the (single) flush request.
  CHECK(c["a"].log().last_index() == before);
  CHECK(c.flush_requests_ == std::vector<std::string>{"a"});
  c.network().clear();
  c["a"].handle_flush_commands();
  c.collect();
  CHECK(c["a"].log().last_index() == before + 5);
  size_t aes_to_b = 0;
  for (auto& env : c.network())
    if (env.to == sid("b"))
      if (auto* ae = std::get_if<append_entries_rpc>(&env.msg)) {
        ++aes_to_b;
        CHECK(ae->entries.size() == 5);
      }
  CHECK(aes_to_b == 1);
  c.run();
  int64_t sum = 0;
  for (int64_t i = 1; i <= 5; ++i) {
    sum += i;
    auto r = c.reply_for(clients[i - 1]);
    REQUIRE(r);
    CHECK(decode<int64_t>(r->reply) == sum);
  }
}

TEST_CASE("batched commands not yet appended are refused as not_leader when the leader steps down", "[replication][batch]") {
  cluster c{{"a", "b", "c"}, [](server_config& cfg) { cfg.batch_commands = true; }};
  c.elect("a");
  auto client = c.command("a", 7);
  c.isolate("a");
  c["b"].handle_leader_down();
  c["c"].handle_leader_down();
  c.elect("b");
  c.heal();
  c.command("b", 1);
  c["b"].handle_flush_commands();  // (the harness does not deliver flush requests itself)
  c.run();  // a hears the higher term and steps down before its flush ran
  REQUIRE(c["a"].current_role() == role::follower);
  auto r = c.reply_for(client);
  REQUIRE(r);
  REQUIRE(r->error);
  CHECK(r->error->code == error_code::not_leader);
  c["a"].handle_flush_commands();  // the late flush appends nothing
  c.run();
  for (auto n : {"a", "b", "c"}) CHECK(c.applied(n) == std::vector<int64_t>{1});
}

// F5: commands are refused while the leader's log cannot be written, and its followers,
// hearing a live leader, never elect. A leader whose log stays unwritable for a few ticks
// hands leadership to the most up-to-date voter.
TEST_CASE("a leader whose log stays unwritable hands over to a voter after a few ticks", "[replication][storage][f5]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  c.command("a", 1);
  c.run();
  c["a"].handle_storage_error("write /data/wal/0001.wal: No space left on device");
  c.collect();
  for (uint32_t tick = 1; tick < storage_failure_ticks_before_handover; ++tick) {
    REQUIRE(c.timers("a").count(timer_kind::tick) == 1);  // a failing log is work: ticks run
    c.fire("a", timer_kind::tick);
    c.run();
    CHECK(c.leader() == "a");  // a short fault is ridden out
  }
  REQUIRE(c.timers("a").count(timer_kind::tick) == 1);
  c.fire("a", timer_kind::tick);
  c.run();
  auto l = c.leader();
  REQUIRE((l == "b" || l == "c"));
  CHECK(c["a"].current_role() == role::follower);
  auto after = c.command(l, 2);
  c.run();
  REQUIRE(c.reply_for(after));
  CHECK_FALSE(c.reply_for(after)->error);
  CHECK(c.applied(l) == std::vector<int64_t>{1, 2});
}

TEST_CASE("a leader whose log recovers between ticks keeps leading", "[replication][storage][f5]") {
  cluster c{{"a", "b", "c"}};
  c.elect("a");
  for (int64_t round = 1; round <= 2 * storage_failure_ticks_before_handover; ++round) {
    auto queued = c.command("a", round);  // appended, not yet durable
    c["a"].handle_storage_error("write /data/wal/0001.wal: No space left on device");
    REQUIRE(c.timers("a").count(timer_kind::tick) == 1);
    c.fire("a", timer_kind::tick);
    c.run();  // the log writes again: the failures were not in a row
    CHECK(c["a"].storage_error().empty());
    REQUIRE(c.reply_for(queued));
    CHECK_FALSE(c.reply_for(queued)->error);
  }
  CHECK(c.leader() == "a");
}
