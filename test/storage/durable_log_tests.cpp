// The durable log: mem table + WAL + segments + snapshots behind ra::log_store, and
// recovery of all of it from disk.
#include <catch2/catch.hpp>

#include "test/storage/storage_test_util.hpp"

#include <atomic>
#include <filesystem>

#include "test/storage/durable_node.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::temp_dir;
using ra::storage::test::durable_node;

namespace {

std::vector<log_entry> entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<log_entry> out;
  for (auto i = first; i <= last; ++i)
    out.push_back(log_entry{index_t{i}, term_t{term}, entry_kind::command, int64_t(i),
                            shared_bytes::copy_of("v" + std::to_string(i) + "t" + std::to_string(term))});
  return out;
}

std::vector<log_entry> read_all(const log_store& log) {
  std::vector<log_entry> out;
  auto st = log.read(log.first_index(), log.last_index(), 1 << 20, out);
  REQUIRE(st);
  return out;
}

wal_config small_wal() {
  wal_config c;
  c.wal_max_size_bytes = wal_min_size_bytes;  // roll over often
  return c;
}
/// A snapshot as a leader would send it (its state is opaque to the log).
stored_snapshot leader_snapshot(uint64_t index, uint64_t term) {
  return stored_snapshot{snapshot_meta{index_t{index}, term_t{term}, cluster_config{}, 0},
                         shared_bytes::copy_of("leader-state")};
}
/// Opens server "s1" on `node` and makes entries 1..20 of term 1 durable: a follower
/// about to be sent a snapshot.
durable_log& follower_with_20_entries(durable_node& node) {
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  log.append(entries(1, 20, 1));
  node.flush();
  REQUIRE(log.last_written().index == index_t{20});
  return log;
}
segment_config small_segments() {
  segment_config c;
  c.segment_max_entries = 16;
  return c;
}
}  // namespace

TEST_CASE("appended entries are readable at once and written only after the WAL syncs", "[storage][durable_log]") {
  temp_dir d;
  durable_node node{file_system::posix(), d.path()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  log.append(entries(1, 5, 1));
  CHECK(log.last_index() == index_t{5});
  CHECK(log.last_written().index == index_t{0});
  CHECK(read_all(log) == entries(1, 5, 1));
  node.flush();
  CHECK(log.last_written() == index_term{index_t{5}, term_t{1}});
}

TEST_CASE("a restart recovers exactly the durable entries", "[storage][durable_log][recovery]") {
  temp_dir d;
  {
    durable_node node{file_system::posix(), d.path()};
    REQUIRE(node.open({"s1", "s2"}));
    node.log("s1").append(entries(1, 10, 1));
    node.log("s2").append(entries(1, 3, 2));
    node.flush();
    node.log("s1").append(entries(11, 12, 1));  // never flushed: lost in the "crash"
  }
  durable_node node{file_system::posix(), d.path()};
  REQUIRE(node.open({"s1", "s2"}));
  CHECK(read_all(node.log("s1")) == entries(1, 10, 1));
  CHECK(node.log("s1").last_written().index == index_t{10});
  CHECK(read_all(node.log("s2")) == entries(1, 3, 2));
}

TEST_CASE("roll-over moves entries to segments, deletes the WAL file, and reads still work", "[storage][durable_log][segments]") {
  temp_dir d;
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  // ~100 entries of 2 KiB overflow a 64 KiB WAL file a few times.
  std::vector<log_entry> big;
  for (uint64_t i = 1; i <= 100; ++i)
    big.push_back(log_entry{index_t{i}, term_t{1}, entry_kind::command, 0, shared_bytes{std::vector<char>(2048, char('a' + i % 26))}});
  for (auto& e : big) {
    log.append({e});
    node.flush();
  }
  CHECK(node.wal().stats().rollovers > 0);
  CHECK_FALSE(log.segments().refs().empty());
  CHECK(log.memory().size() < 100);
  CHECK(read_all(log) == big);
  CHECK(log.term_at(index_t{1}) == term_t{1});
  CHECK_FALSE(log.error());
  auto wal_files = std::distance(std::filesystem::directory_iterator(d.path() + "/wal"), std::filesystem::directory_iterator{});
  CHECK(wal_files <= 2);
  // And after a restart, from segments + WAL.
  durable_node again{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(again.open({"s1"}));
  CHECK(read_all(again.log("s1")) == big);
}

TEST_CASE("an overwrite of a divergent suffix survives segment flushes and restarts", "[storage][durable_log][overwrite]") {
  temp_dir d;
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  log.append(entries(1, 40, 1));
  node.flush();
  log.append(entries(30, 35, 2));  // a new leader truncates 30.. and writes term 2
  CHECK(log.last_index() == index_t{35});
  CHECK(log.last_written().index == index_t{29});
  node.flush();
  CHECK(log.last_written() == index_term{index_t{35}, term_t{2}});
  auto expect = entries(1, 29, 1);
  for (auto& e : entries(30, 35, 2)) expect.push_back(e);
  CHECK(read_all(log) == expect);
  // Force the WAL files through the segment writer by a restart, then read again.
  durable_node again{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(again.open({"s1"}));
  CHECK(read_all(again.log("s1")) == expect);
  CHECK(again.log("s1").last_index() == index_t{35});
}

TEST_CASE("a local snapshot releases entries and segments and is used on restart", "[storage][durable_log][snapshot]") {
  temp_dir d;
  {
    durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
    REQUIRE(node.open({"s1"}));
    auto& log = node.log("s1");
    log.append(entries(1, 60, 1));
    node.flush();
    snapshot_meta meta{index_t{50}, term_t{1}, cluster_config{{member{server_id{"s1", "n"}}}}, 0};
    log.write_snapshot(stored_snapshot{meta, shared_bytes::copy_of("state@50")});
    CHECK(log.first_index() == index_t{51});
    CHECK_FALSE(log.term_at(index_t{49}));
    CHECK(log.term_at(index_t{50}) == term_t{1});
    CHECK_FALSE(log.error());
  }
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  REQUIRE(log.snapshot());
  CHECK(log.load_snapshot_state()->view() == "state@50");
  CHECK(log.first_index() == index_t{51});
  CHECK(read_all(log) == entries(51, 60, 1));
}

TEST_CASE("installing a leader's snapshot that does not match the log discards the log for good", "[storage][durable_log][snapshot]") {
  temp_dir d;
  {
    durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
    auto& log = follower_with_20_entries(node);
    snapshot_meta meta{index_t{30}, term_t{3}, cluster_config{}, 0};
    REQUIRE(log.install_snapshot(stored_snapshot{meta, shared_bytes::copy_of("leader-state")}));
    CHECK(log.last_index() == index_t{30});
    CHECK(log.last_written().index == index_t{30});
    log.append(entries(31, 32, 3));  // the first write after the install: a new log
    node.flush();
    CHECK(log.last_written() == index_term{index_t{32}, term_t{3}});
  }
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  CHECK(log.first_index() == index_t{31});
  CHECK(read_all(log) == entries(31, 32, 3));
}

TEST_CASE("a full disk never acknowledges and the log recovers when space returns", "[storage][durable_log][faults]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  durable_node node{fs, d.path()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  log.append(entries(1, 3, 1));
  node.flush();
  fs.set_rule([](std::string_view op, const std::string& path) {
    return (op == "write" || op == "writev") && path.ends_with(".wal") ? ENOSPC : 0;
  });
  log.append(entries(4, 6, 1));
  auto res = node.flush();
  CHECK_FALSE(res.ok());
  CHECK(log.last_written().index == index_t{3});
  fs.clear();
  for (int i = 0; i < 3 && log.last_written().index < index_t{6}; ++i) node.flush();
  CHECK(log.last_written().index == index_t{6});
  durable_node again{file_system::posix(), d.path()};
  REQUIRE(again.open({"s1"}));
  CHECK(read_all(again.log("s1")) == entries(1, 6, 1));
}

namespace {
/// Holds submitted jobs until the test runs them (as a background worker would, later).
struct manual_worker : snapshot_worker {
  std::vector<std::function<io_result<std::string>()>> jobs;
  std::vector<storage_job> kinds;
  void submit(const std::string&, storage_job kind, std::function<io_result<std::string>()> job) override {
    jobs.push_back(std::move(job));
    kinds.push_back(kind);
  }
};
}  // namespace

TEST_CASE("a snapshot written off the server's thread releases the log only once written", "[storage][durable_log][snapshot]") {
  temp_dir d;
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  manual_worker worker;
  log.set_snapshot_worker(&worker);
  log.append(entries(1, 40, 1));
  node.flush();
  snapshot_meta meta{index_t{30}, term_t{1}, cluster_config{}, 0};
  log.write_snapshot(stored_snapshot{meta, shared_bytes::copy_of("state@30")});
  REQUIRE(worker.jobs.size() == 1);
  CHECK(log.snapshot_pending());
  CHECK_FALSE(log.snapshot());               // not yet: the old state of affairs holds
  CHECK(log.first_index() == index_t{1});
  CHECK(read_all(log) == entries(1, 40, 1));
  // A second hint while one is pending is dropped.
  log.write_snapshot(stored_snapshot{snapshot_meta{index_t{35}, term_t{1}, cluster_config{}, 0}, shared_bytes::copy_of("x")});
  CHECK(worker.jobs.size() == 1);
  auto result = worker.jobs.front()();
  log.on_snapshot_written(result);
  CHECK_FALSE(log.snapshot_pending());
  REQUIRE(log.snapshot());
  CHECK(log.first_index() == index_t{31});
  CHECK(read_all(log) == entries(31, 40, 1));
  durable_node again{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(again.open({"s1"}));
  REQUIRE(again.log("s1").snapshot());
  CHECK(again.log("s1").load_snapshot_state()->view() == "state@30");
}

TEST_CASE("a failed background snapshot write keeps the log whole and reports the error", "[storage][durable_log][snapshot][faults]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  durable_node node{fs, d.path()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  manual_worker worker;
  log.set_snapshot_worker(&worker);
  log.append(entries(1, 10, 1));
  node.flush();
  log.write_snapshot(stored_snapshot{snapshot_meta{index_t{8}, term_t{1}, cluster_config{}, 0}, shared_bytes::copy_of("s")});
  fs.set_rule([](std::string_view op, const std::string& path) {
    return op.starts_with("write") && path.find("snapshot") != std::string::npos ? ENOSPC : 0;
  });
  log.on_snapshot_written(worker.jobs.front()());
  fs.clear();
  CHECK_FALSE(log.snapshot());
  CHECK_FALSE(log.error());  // not fatal
  REQUIRE(log.snapshot_error());
  CHECK(log.snapshot_error()->code == ENOSPC);
  CHECK(read_all(log) == entries(1, 10, 1));
}

TEST_CASE("a checkpoint keeps the log until a release cursor promotes it to the snapshot", "[storage][durable_log][checkpoint]") {
  temp_dir d;
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  log.append(entries(1, 50, 1));
  node.flush();
  log.write_checkpoint(stored_snapshot{snapshot_meta{index_t{20}, term_t{1}, cluster_config{}, 0}, shared_bytes::copy_of("cp@20")});
  log.write_checkpoint(stored_snapshot{snapshot_meta{index_t{40}, term_t{1}, cluster_config{}, 0}, shared_bytes::copy_of("cp@40")});
  CHECK_FALSE(log.snapshot());
  CHECK(log.first_index() == index_t{1});  // nothing released by a checkpoint
  REQUIRE(log.promote_checkpoint(index_t{30}));  // newest checkpoint <= 30 is the one at 20
  REQUIRE(log.snapshot());
  CHECK(log.snapshot()->meta.index == index_t{20});
  CHECK(log.load_snapshot_state()->view() == "cp@20");
  CHECK(log.first_index() == index_t{21});
  CHECK(read_all(log) == entries(21, 50, 1));
  REQUIRE(log.promote_checkpoint(index_t{45}));
  CHECK(log.snapshot()->meta.index == index_t{40});
  CHECK_FALSE(log.promote_checkpoint(index_t{45}));  // nothing newer left
  durable_node again{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(again.open({"s1"}));
  CHECK(again.log("s1").load_snapshot_state()->view() == "cp@40");
  CHECK(read_all(again.log("s1")) == entries(41, 50, 1));
}

// Review finding F1: an install that discards the log must stay discarded across a
// restart that comes before the first write of the new log.

TEST_CASE("F1: after a non-matching install and a restart before any write, the server accepts writes", "[storage][durable_log][snapshot][f1]") {
  temp_dir d;
  {
    durable_node node{file_system::posix(), d.path()};
    auto& log = follower_with_20_entries(node);
    // A lagging follower catches up by snapshot: nothing of its log is at 1000.
    REQUIRE(log.install_snapshot(leader_snapshot(1000, 3)));
  }  // crash before any write: the WAL still remembers this server's entries 1..20
  durable_node node{file_system::posix(), d.path()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  CHECK(log.last_index() == index_t{1000});
  log.append(entries(1001, 1002, 3));
  for (int i = 0; i < 3; ++i) node.flush();  // room for a resend round, if one were needed
  CHECK(log.last_written() == index_term{index_t{1002}, term_t{3}});
  CHECK_FALSE(log.log_reset_pending());
  durable_node again{file_system::posix(), d.path()};
  REQUIRE(again.open({"s1"}));
  CHECK(read_all(again.log("s1")) == entries(1001, 1002, 3));
}

TEST_CASE("F1: a restart after a non-matching install brings back no divergent suffix", "[storage][durable_log][snapshot][f1]") {
  temp_dir d;
  {
    durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
    REQUIRE(node.open({"s1"}));
    auto& log = node.log("s1");
    for (uint64_t i = 1; i <= 40; i += 5) {  // several batches: some roll into segments
      log.append(entries(i, i + 4, 1));
      node.flush();
    }
    REQUIRE(log.last_written().index == index_t{40});
    // The leader's snapshot at 20 has another term: entries 21..40 of term 1 diverge.
    REQUIRE(log.install_snapshot(leader_snapshot(20, 3)));
    CHECK(log.last_index() == index_t{20});
  }  // crash before any write
  durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(node.open({"s1"}));
  auto& log = node.log("s1");
  CHECK(log.last_index() == index_t{20});
  CHECK(log.first_index() == index_t{21});
  CHECK(read_all(log).empty());
  log.append(entries(21, 22, 3));
  for (int i = 0; i < 3; ++i) node.flush();
  CHECK(log.last_written() == index_term{index_t{22}, term_t{3}});
  durable_node again{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(again.open({"s1"}));
  CHECK(read_all(again.log("s1")) == entries(21, 22, 3));
}

TEST_CASE("F1: a crash before the installed snapshot took its name keeps the old log", "[storage][durable_log][snapshot][f1]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  {
    durable_node node{fs, d.path()};
    auto& log = follower_with_20_entries(node);
    // The received snapshot cannot be renamed into place: the install fails after the
    // log reset marker was written.
    fs.set_rule([](std::string_view op, const std::string& path) {
      return op == "rename" && path.find(".receiving") != std::string::npos ? EIO : 0;
    });
    CHECK_FALSE(log.install_snapshot(leader_snapshot(1000, 3)));
    fs.clear();
  }
  durable_node node{fs, d.path()};
  REQUIRE(node.open({"s1"}));
  CHECK_FALSE(node.log("s1").snapshot());
  CHECK(read_all(node.log("s1")) == entries(1, 20, 1));
}

TEST_CASE("F1: the log reset marker goes only when the new log's first entry is durable, and counts it written only then", "[storage][durable_log][snapshot][f1]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  durable_node node{fs, d.path()};
  auto& log = follower_with_20_entries(node);
  REQUIRE(log.install_snapshot(leader_snapshot(1000, 3)));
  auto marker = node.server_dir("s1") + "/log_reset";
  CHECK(log.log_reset_pending());
  CHECK(std::filesystem::exists(marker));
  log.append(entries(1001, 1001, 3));
  fs.set_rule([](std::string_view op, const std::string& path) {
    return op == "remove" && path.ends_with("/log_reset") ? EIO : 0;
  });
  node.flush();
  // Durable in the WAL, but while the marker stays a recovery would drop it: not written.
  CHECK(log.last_written().index == index_t{1000});
  CHECK(log.log_reset_pending());
  CHECK(log.error());
  fs.clear();
  CHECK(log.on_written(index_t{1001}, term_t{3}));
  CHECK_FALSE(log.log_reset_pending());
  CHECK_FALSE(std::filesystem::exists(marker));
  CHECK(log.last_written() == index_term{index_t{1001}, term_t{3}});
}

// F7: restart_server racing a roll-over. The restarted server opens its segment directory
// and learns the file the segment writer has just written; the writer's notification for
// that same file arrives afterwards. It threw ("not newer than the existing segments")
// and the exception killed the server actor.
TEST_CASE("F7: a server told about segments it already learnt from its directory carries on", "[storage][durable_log][segments][f7]") {
  temp_dir d;
  std::vector<segment_ref> notified;
  std::vector<log_entry> written;
  {
    durable_node node{file_system::posix(), d.path(), small_wal(), small_segments()};
    REQUIRE(node.open({"s1"}));
    for (uint64_t i = 1; i <= 100 && notified.empty(); ++i) {
      auto e = log_entry{index_t{i}, term_t{1}, entry_kind::command, 0, shared_bytes{std::vector<char>(2048, 'x')}};
      written.push_back(e);
      node.log("s1").append({e});
      node.flush();
      if (auto it = node.last_segment_flush().segments.find("s1"); it != node.last_segment_flush().segments.end())
        notified = it->second;
    }
  }
  REQUIRE_FALSE(notified.empty());
  durable_node restarted{file_system::posix(), d.path(), small_wal(), small_segments()};
  REQUIRE(restarted.open({"s1"}));
  auto& log = restarted.log("s1");
  REQUIRE(log.segments().refs() == notified);  // learnt from the directory
  log.on_segments(notified);                   // the segment writer's late notification
  CHECK_FALSE(log.error());
  CHECK(log.segments().refs() == notified);
  CHECK(read_all(log) == written);

  // A ref that contradicts a known file is reported as an error, not thrown.
  auto conflicting = notified;
  conflicting.back().range.last = conflicting.back().range.last + 5;
  log.on_segments(conflicting);
  REQUIRE(log.error());
  CHECK(log.error()->message().find(conflicting.back().file_name) != std::string::npos);
  CHECK(read_all(log) == written);
}

// Reliability review F11: with a worker, a leader's snapshot is made durable off the
// server's thread, and the log changes only when the worker's result is handed back.

TEST_CASE("F11: a received snapshot is installed by the worker, and the log changes only when told", "[storage][durable_log][snapshot][f11]") {
  temp_dir d;
  {
    durable_node node{file_system::posix(), d.path()};
    auto& log = follower_with_20_entries(node);
    manual_worker worker;
    log.set_snapshot_worker(&worker);
    REQUIRE(log.completes_receipts_later());
    auto snap = leader_snapshot(1000, 3);
    REQUIRE(log.begin_snapshot_receipt(snap.meta));
    REQUIRE(log.accept_snapshot_chunk(snap.data.span()));
    REQUIRE(log.begin_snapshot_completion());
    REQUIRE(worker.jobs.size() == 1);
    CHECK(worker.kinds.front() == storage_job::snapshot_install);
    CHECK_FALSE(log.snapshot());  // nothing changed yet
    CHECK(log.last_index() == index_t{20});
    CHECK(read_all(log).size() == 20);
    auto installed = log.on_snapshot_installed(worker.jobs.front()());
    REQUIRE(installed);
    REQUIRE(log.snapshot());
    CHECK(log.snapshot()->meta.index == index_t{1000});
    CHECK(log.last_index() == index_t{1000});
    CHECK(read_all(log).empty());  // the non-matching log is gone
    CHECK(log.log_reset_pending());
  }  // crash before any write: the reset marker the job wrote keeps the old log away
  durable_node node{file_system::posix(), d.path()};
  REQUIRE(node.open({"s1"}));
  CHECK(node.log("s1").last_index() == index_t{1000});
  CHECK(read_all(node.log("s1")).empty());
  CHECK(node.log("s1").load_snapshot_state()->view() == leader_snapshot(1000, 3).data.view());
}

TEST_CASE("F11: a worker's failed install is reported and leaves the log as it was", "[storage][durable_log][snapshot][f11][faults]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  durable_node node{fs, d.path()};
  auto& log = follower_with_20_entries(node);
  manual_worker worker;
  log.set_snapshot_worker(&worker);
  auto snap = leader_snapshot(1000, 3);
  REQUIRE(log.begin_snapshot_receipt(snap.meta));
  REQUIRE(log.accept_snapshot_chunk(snap.data.span()));
  REQUIRE(log.begin_snapshot_completion());
  fs.set_rule([](std::string_view op, const std::string&) { return op == "sync" ? EIO : 0; });
  auto installed = log.on_snapshot_installed(worker.jobs.front()());
  fs.clear();
  REQUIRE_FALSE(installed);
  CHECK(installed.error().what == log_error::kind::unwritable);
  CHECK_FALSE(log.snapshot());
  CHECK(log.last_index() == index_t{20});
}
