// The WAL actor and the segment writer actor together (real threads): a roll-over moves
// every writer's entries into its own segment files, the servers are told, and the WAL
// file is deleted only after that. Every wait is bounded.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "segments/segment_set.hpp"
#include "segments/segment_writer_actor.hpp"
#include "test/storage/storage_test_util.hpp"
#include "wal/wal_actor.hpp"
#include "wal/wal_writer.hpp"

using namespace ra;
using namespace ra::storage;
using namespace std::chrono_literals;
using ra::storage::test::make_entries;
using ra::storage::test::temp_dir;

TEST_CASE("segment writer actor moves rolled-over WAL files into each server's segments", "[segments][actor]") {
  temp_dir dir;
  std::string root = dir / "";
  std::filesystem::create_directories(root + "s1");
  std::filesystem::create_directories(root + "s2");
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};

  std::mutex mx;
  std::condition_variable cv;
  std::map<std::string, std::vector<segment_ref>> notified;
  segment_writer_config scfg;
  scfg.segments.segment_max_entries = 32;
  scfg.server_dir = [&](const std::string& uid) { return root + uid; };
  scfg.notify = [&](const std::string& uid, std::vector<segment_ref> refs) {
    std::lock_guard lk{mx};
    auto& v = notified[uid];
    v.insert(v.end(), refs.begin(), refs.end());
    cv.notify_all();
  };
  auto seg = spawn_segment_writer(sys, scfg);

  wal_config wcfg;
  wcfg.wal_data_dir = root + "wal";
  wcfg.wal_max_size_bytes = wal_min_size_bytes;
  auto wal = spawn_wal(sys, wcfg, [seg](rollover_info info) { submit_rollover(seg, std::move(info)); });

  caf::scoped_actor self{sys};
  const uint64_t n = 200;  // 200 x 1 KiB per server: several 64 KiB WAL files
  for (uint64_t i = 1; i <= n; ++i)
    for (std::string uid : {"s1", "s2"})
      self->send(wal, wal_append_atom::value, uid, caf::actor{self}, make_entries(i, i, 1, 1024));
  // Wait for the last written notifications so every append is durable.
  std::map<std::string, index_t> written;
  while (written["s1"] < index_t{n} || written["s2"] < index_t{n}) {
    bool timed_out = false;
    self->receive([&](wal_written_atom, const std::string& uid, index_t i, term_t) { written[uid] = i; },
                  caf::after(std::chrono::seconds(10)) >> [&] { timed_out = true; });
    REQUIRE_FALSE(timed_out);
  }
  {
    std::unique_lock lk{mx};
    REQUIRE(cv.wait_for(lk, 10s, [&] { return notified.count("s1") && notified.count("s2"); }));
  }
  // Stop the WAL (no more roll-overs), then make sure the segment writer has finished
  // every file handed to it before looking at the disk.
  self->monitor(wal);
  stop_wal(wal);
  bool wal_down = false;
  self->receive([&](const caf::down_msg&) { wal_down = true; }, caf::after(std::chrono::seconds(10)) >> [] {});
  REQUIRE(wal_down);
  uint64_t waiting = 1;
  self->request(seg, std::chrono::seconds(30), caf::get_atom::value)
    .receive([&](uint64_t n) { waiting = n; }, [&](caf::error& e) { FAIL(to_string(e)); });
  CHECK(waiting == 0);
  anon_send_exit(seg, caf::exit_reason::user_shutdown);

  for (std::string uid : {"s1", "s2"}) {
    auto set = segment_set::open(file_system::posix(), root + uid);
    REQUIRE(set);
    REQUIRE(set->range());
    CHECK(set->range()->first == index_t{1});
    auto last = set->range()->last;
    CHECK(last > index_t{50});  // at least one full WAL file's worth moved
    for (auto i = index_t{1}; i <= last; ++i) {
      auto e = set->read(i);
      REQUIRE(e);
      REQUIRE(*e);
      CHECK((*e)->payload == make_entries(i.value, i.value, 1, 1024).front().payload);
    }
    std::lock_guard lk{mx};
    CHECK(notified[uid].back().range.last == last);
  }
  // The moved WAL files are gone; only the current one (and maybe one being moved) stay.
  auto wal_files = std::distance(std::filesystem::directory_iterator(root + "wal"), std::filesystem::directory_iterator{});
  CHECK(wal_files <= 2);
}

namespace {

/// A closed WAL file holding entries 1..`n` of server "s1" (written by the synchronous
/// writer, which hands the file over at roll-over).
rollover_info closed_wal_file(const std::string& root, uint64_t n) {
  wal_config wcfg;
  wcfg.wal_data_dir = root + "wal";
  wcfg.wal_max_entries = n - 1;
  std::vector<rollover_info> rolled;
  wal_writer wal{wcfg, [&](rollover_info info) { rolled.push_back(std::move(info)); }};
  wal.queue("s1", make_entries(1, n, 1, 100));
  REQUIRE(wal.flush().ok());
  REQUIRE(rolled.size() == 1);
  return rolled[0];
}

/// Asks the segment writer until no WAL file waits (true) or `limit` has passed (false).
bool segment_writer_drains(caf::actor_system& sys, const caf::actor& seg, std::chrono::milliseconds limit) {
  caf::scoped_actor self{sys};
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    uint64_t waiting = 1;
    self->request(seg, std::chrono::seconds(10), caf::get_atom::value)
      .receive([&](uint64_t n) { waiting = n; }, [&](caf::error&) {});
    if (waiting == 0)
      return true;
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

// F6: the file was deleted, then syncing the WAL directory failed. A retry that re-reads
// the (gone) file failed forever and every later roll-over queued behind it.
TEST_CASE("segment writer: a failed directory sync after deleting a WAL file is retried alone", "[segments][actor][f6]") {
  temp_dir dir;
  std::string root = dir / "";
  std::filesystem::create_directories(root + "s1");
  auto info = closed_wal_file(root, 20);
  faulty_file_system fs{file_system::posix()};
  int failed_syncs = 0, removes = 0;
  fs.set_rule([&](std::string_view op, const std::string& path) {
    if (op == "remove" && path.ends_with(".wal")) {
      ++removes;
      return removes <= 2 ? EIO : 0;  // the first two attempts cannot delete the file
    }
    if (op == "sync_directory" && path == root + "wal" && failed_syncs == 0) {
      ++failed_syncs;
      return EIO;
    }
    return 0;
  });
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  std::mutex mx;
  int notifications = 0;
  segment_writer_config scfg;
  scfg.fs = &fs;
  scfg.server_dir = [&](const std::string& uid) { return root + uid; };
  scfg.notify = [&](const std::string&, std::vector<segment_ref>) {
    std::lock_guard lk{mx};
    ++notifications;
  };
  auto seg = spawn_segment_writer(sys, scfg);
  submit_rollover(seg, info);
  CHECK(segment_writer_drains(sys, seg, 5s));
  CHECK(failed_syncs == 1);
  CHECK(!std::filesystem::exists(info.path));
  // Failed removals did not make the retries write the entries again.
  auto segment_files = std::distance(std::filesystem::directory_iterator(root + "s1"), std::filesystem::directory_iterator{});
  CHECK(segment_files == 1);
  {
    std::lock_guard lk{mx};
    CHECK(notifications == 1);
  }
  auto set = segment_set::open(file_system::posix(), root + "s1");
  REQUIRE(set);
  REQUIRE(set->range());
  CHECK(set->range()->last == index_t{20});
  anon_send_exit(seg, caf::exit_reason::user_shutdown);
}
