// The WAL actor and the segment writer actor together (real threads): a roll-over moves
// every writer's entries into its own segment files, the servers are told, and the WAL
// file is deleted only after that. Every wait is bounded.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include <caf/all.hpp>

#include "segments/segment_set.hpp"
#include "segments/segment_writer_actor.hpp"
#include "test/storage/storage_test_util.hpp"
#include "wal/wal_actor.hpp"

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
