// The meta writer actor (wal/meta_writer_actor.hpp) under a real actor system: votes of
// many servers share one sync (group commit), every sender hears back once its vote is
// durable, and a failed sync is reported to each sender with nothing recorded.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "test/storage/storage_test_util.hpp"
#include "wal/meta_writer_actor.hpp"

using namespace ra;
using namespace ra::storage;
using namespace std::chrono_literals;
using ra::storage::test::temp_dir;

namespace {

constexpr auto wait_limit = std::chrono::seconds(10);

struct meta_writer_fixture {
  temp_dir dir;
  faulty_file_system fs{file_system::posix()};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  meta_writer_fixture() {
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

meta_vote_msg vote(uint64_t seq, std::string uid, uint64_t term, std::optional<server_id> v) {
  return meta_vote_msg{seq, std::move(uid), term_t{term}, v.has_value(), v.value_or(server_id{})};
}

}  // namespace

TEST_CASE_METHOD(meta_writer_fixture, "meta writer: votes queued during a sync share the next one",
                 "[storage][meta][actor]") {
  // Every sync of meta.log takes 100 ms: the votes sent while the first one syncs must
  // all wait in the mailbox and go out in one batch.
  fs.set_rule([](std::string_view op, const std::string& path) {
    if (op == "sync" && path.ends_with("meta.log")) std::this_thread::sleep_for(100ms);
    return 0;
  });
  auto store = meta_store::open(fs, dir / "meta");
  REQUIRE(store);
  auto& meta = **store;
  const auto syncs_before = meta.syncs();
  auto writer = spawn_meta_writer(*sys, meta);
  constexpr uint64_t servers = 50;
  caf::scoped_actor self{*sys};
  for (uint64_t i = 1; i <= servers; ++i)
    self->send(writer, meta_vote_atom::value, vote(i, "u" + std::to_string(i), i + 1, server_id{"a", "n"}));
  std::set<uint64_t> durable;
  bool timed_out = false;
  while (durable.size() < servers && !timed_out)
    self->receive([&](meta_durable_atom, uint64_t seq) { durable.insert(seq); },
                  [&](meta_failed_atom, uint64_t seq, const std::string& why) { FAIL("vote " << seq << ": " << why); },
                  caf::after(wait_limit) >> [&] { timed_out = true; });
  REQUIRE(durable.size() == servers);
  // The first vote may go alone; the rest arrive while it syncs and share one sync.
  CHECK(meta.syncs() - syncs_before <= 3);
  CHECK(meta.votes_written() == servers);
  for (uint64_t i = 1; i <= servers; ++i) {
    auto m = meta.get("u" + std::to_string(i));
    CHECK(m.current_term == term_t{i + 1});
    CHECK(m.voted_for == server_id{"a", "n"});
  }
  self->monitor(writer);
  caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {}, caf::after(wait_limit) >> [] { FAIL("the writer did not stop"); });
  // Durable means on disk: a second store reading the file sees every vote.
  store->reset();
  auto reopened = meta_store::open(file_system::posix(), dir / "meta");
  REQUIRE(reopened);
  CHECK((*reopened)->get("u50").current_term == term_t{51});
}

TEST_CASE_METHOD(meta_writer_fixture, "meta writer: a failed sync is reported to every sender, nothing recorded",
                 "[storage][meta][actor][faults]") {
  std::atomic<bool> failing{false};
  fs.set_rule([&](std::string_view op, const std::string& path) {
    return failing && op == "sync" && path.ends_with("meta.log") ? EIO : 0;
  });
  auto store = meta_store::open(fs, dir / "meta");
  REQUIRE(store);
  auto& meta = **store;
  REQUIRE(meta.put_term_vote("u1", term_t{1}, std::nullopt));
  auto writer = spawn_meta_writer(*sys, meta);
  caf::scoped_actor self{*sys};
  failing = true;
  self->send(writer, meta_vote_atom::value, vote(7, "u1", 2, server_id{"b", "n"}));
  std::string failure;
  self->receive([&](meta_durable_atom, uint64_t) { FAIL("a vote whose sync failed was reported durable"); },
                [&](meta_failed_atom, uint64_t seq, const std::string& why) {
                  CHECK(seq == 7);
                  failure = why;
                },
                caf::after(wait_limit) >> [] { FAIL("no answer"); });
  CHECK_FALSE(failure.empty());
  CHECK(meta.get("u1").current_term == term_t{1});  // the failed vote does not count
  CHECK_FALSE(meta.get("u1").voted_for);
  // The disk heals: the next vote is written to a rewritten file and is durable.
  failing = false;
  self->send(writer, meta_vote_atom::value, vote(8, "u1", 3, server_id{"c", "n"}));
  uint64_t durable = 0;
  self->receive([&](meta_durable_atom, uint64_t seq) { durable = seq; },
                [&](meta_failed_atom, uint64_t, const std::string& why) { FAIL(why); },
                caf::after(wait_limit) >> [] { FAIL("no answer"); });
  CHECK(durable == 8);
  self->monitor(writer);
  caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {}, caf::after(wait_limit) >> [] { FAIL("the writer did not stop"); });
  store->reset();
  auto reopened = meta_store::open(file_system::posix(), dir / "meta");
  REQUIRE(reopened);
  CHECK((*reopened)->get("u1").current_term == term_t{3});
  CHECK((*reopened)->get("u1").voted_for == server_id{"c", "n"});
}
