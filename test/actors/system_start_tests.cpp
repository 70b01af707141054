// system::start on a data dir it cannot use: a directory another system holds (the data
// dir lock), a corrupt WAL, an unwritable WAL or server directory. Each must return a
// typed error promptly: a start that hangs or that runs next to another system on the
// same files (and moves that system's live WAL away) is the bug these tests guard.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "ra/api.hpp"
#include "io/file.hpp"
#include "test/actors/runtime_fixture.hpp"
#include "wal/wal_writer.hpp"

using namespace ra;
using namespace ra::test;
using namespace std::chrono_literals;

namespace {

/// Runs system::start on a helper thread and waits at most `limit` for it. A start that
/// has not returned by then cannot be cleaned up (it may be stuck in ~actor_system), so
/// the test process ends at once with a failure instead of hanging the suite.
result<std::unique_ptr<ra::system>> start_within(system_config cfg, std::chrono::milliseconds limit = 1s) {
  std::packaged_task<result<std::unique_ptr<ra::system>>()> task{
    [cfg = std::move(cfg)]() mutable { return ra::system::start(std::move(cfg)); }};
  auto answer = task.get_future();
  std::thread{std::move(task)}.detach();
  if (answer.wait_for(limit) != std::future_status::ready) {
    std::cerr << "system::start did not return within " << limit.count() << " ms\n";
    std::_Exit(EXIT_FAILURE);
  }
  return answer.get();
}

log_entry entry_at(uint64_t index) {
  log_entry e;
  e.index = index_t{index};
  e.term = term_t{1};
  e.kind = entry_kind::command;
  e.payload = shared_bytes::copy_of("0123456789");
  return e;
}

}  // namespace

TEST_CASE("system start: a data dir held by a running system is refused, the holder keeps working", "[actors][start]") {
  temp_dir dir;
  auto first = start_system("n1", dir.path());
  const std::vector<server_id> ids{start_single_counter(*first)};
  CHECK(add(*first, ids[0], 5) == 5);

  auto second = start_within(make_config("n2", dir.path()));
  REQUIRE(!second);
  CHECK(second.error().code == api_errc::data_dir_locked);
  CHECK(second.error().message.find(dir.path()) != std::string::npos);

  // The refused start touched nothing of the first system's: its WAL still takes commands.
  CHECK(add(*first, ids[0], 7) == 12);
  first->stop();

  auto third = start_within(make_config("n3", dir.path()));
  REQUIRE(third);
  (*third)->stop();
}

TEST_CASE("system start: a corrupt WAL record fails the start promptly", "[actors][start]") {
  temp_dir dir;
  std::string wal_path;
  {
    storage::wal_config wc;
    wc.wal_data_dir = dir.path() + "/wal";
    storage::wal_writer wal{wc};
    for (uint64_t i = 1; i <= 3; ++i) {
      std::vector<log_entry> one{entry_at(i)};
      wal.queue("x", one);
      REQUIRE(wal.flush().ok());
    }
    wal_path = wal.current_path();
  }
  // Flip a bit inside the second record (not the tail, which recovery would truncate).
  std::fstream f{wal_path, std::ios::in | std::ios::out | std::ios::binary};
  f.seekp(8 + 34 + 52 + 40);
  f.put('\x7f');
  f.close();

  auto s = start_within(make_config("n1", dir.path()));
  REQUIRE(!s);
  CHECK(s.error().code == api_errc::storage);
  CHECK(s.error().message.find(wal_path) != std::string::npos);
}

TEST_CASE("system start: an unusable WAL directory fails the start promptly", "[actors][start]") {
  temp_dir dir;
  // A regular file where the WAL directory should be: refused even when the tests run as
  // root (a chmod 000 directory would not stop root).
  std::ofstream{dir.path() + "/wal"} << "not a directory";
  auto s = start_within(make_config("n1", dir.path()));
  REQUIRE(!s);
  CHECK(s.error().code == api_errc::storage);
}

TEST_CASE("system start: an unwritable server directory fails the start promptly", "[actors][start]") {
  temp_dir dir;
  std::string uid;
  {
    auto sys = start_system("n1", dir.path());
    const std::vector<server_id> ids{start_single_counter(*sys)};
    CHECK(add(*sys, ids[0], 5) == 5);
    uid = sys->uid_of("s1");
  }  // the live WAL file keeps s1's entries: the next start moves them into s1's segments
  REQUIRE(!uid.empty());
  storage::faulty_file_system faulty{storage::file_system::posix()};
  const std::string server_dir = dir.path() + "/" + uid + "/";
  faulty.set_rule([&](std::string_view op, const std::string& path) {
    return op == "open" && path.rfind(server_dir, 0) == 0 ? EACCES : 0;
  });
  auto cfg = make_config("n1", dir.path());
  cfg.fs = &faulty;
  auto s = start_within(cfg);
  REQUIRE(!s);
  CHECK(s.error().code == api_errc::storage);
  CHECK(faulty.failures() > 0);
}

// -- deleting a server survives a crash part-way (review F12) ----------------------------

TEST_CASE("system start: a deletion interrupted before its meta record went is finished, not undone", "[actors][start][delete]") {
  // The state a crash leaves right after the durable rename to the tombstone: the
  // directory (config, log) under <uid>.deleted and the meta record still there. The
  // server must not come back (it would otherwise reappear with a partial log).
  temp_dir dir;
  std::string uid;
  {
    auto sys = start_system("n1", dir.path());
    auto s1 = start_single_counter(*sys);
    CHECK(add(*sys, s1, 5) == 5);
    uid = sys->uid_of(s1.name);
    REQUIRE(!uid.empty());
  }
  std::filesystem::rename(dir.path() + "/" + uid, dir.path() + "/" + uid + ".deleted");
  auto sys = start_system("n1", dir.path());
  CHECK(sys->uid_of("s1").empty());
  CHECK(!restart_server(*sys, server_id{"s1", "n1"}));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/" + uid + ".deleted"));
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/" + uid));
}

TEST_CASE("system: a failing delete never leaves a loadable server without its term and vote", "[actors][start][delete]") {
  temp_dir dir;
  auto fs = std::make_unique<storage::faulty_file_system>(storage::file_system::posix());
  std::string uid;
  {
    auto cfg = make_config("n1", dir.path());
    cfg.fs = fs.get();
    auto sys = ra::system::start(cfg);
    REQUIRE(sys);
    auto s1 = start_single_counter(**sys);
    CHECK(add(**sys, s1, 5) == 5);
    uid = (*sys)->uid_of(s1.name);
    // The tree removal fails part-way (as a crash would stop it): the rename and the
    // meta removal are done, files remain.
    fs->set_rule([&](std::string_view op, const std::string& path) {
      return op == "remove" && path.find(".deleted/") != std::string::npos ? EIO : 0;
    });
    auto del = force_delete_server(**sys, s1);
    CHECK(!del);
    CHECK((*sys)->uid_of(s1.name).empty());
    fs->clear();
  }
  // Whatever the delete left, the next start finishes it: no server s1, no files.
  REQUIRE(std::filesystem::exists(dir.path() + "/" + uid + ".deleted"));
  auto sys = start_system("n1", dir.path());
  CHECK(sys->uid_of("s1").empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/" + uid + ".deleted"));
  // The name is free for a new server, which starts from term 0 with a new uid.
  auto s1 = start_single_counter(*sys);
  CHECK(add(*sys, s1, 2) == 2);
  CHECK(sys->uid_of("s1") != uid);
}

TEST_CASE("system: a delete whose rename fails keeps the server whole", "[actors][start][delete]") {
  temp_dir dir;
  auto fs = std::make_unique<storage::faulty_file_system>(storage::file_system::posix());
  auto cfg = make_config("n1", dir.path());
  cfg.fs = fs.get();
  auto sys = ra::system::start(cfg);
  REQUIRE(sys);
  auto s1 = start_single_counter(**sys);
  CHECK(add(**sys, s1, 5) == 5);
  auto uid = (*sys)->uid_of(s1.name);
  fs->set_rule([&](std::string_view op, const std::string& path) {
    return op == "rename" && path == dir.path() + "/" + uid ? EIO : 0;  // the move to the tombstone
  });
  CHECK(!force_delete_server(**sys, s1));
  fs->clear();
  // Its meta record (term, vote) and its log are intact: it restarts with its state.
  CHECK((*sys)->uid_of(s1.name) == uid);
  REQUIRE(restart_server(**sys, s1));
  CHECK(add(**sys, s1, 1) == 6);
}

// -- wal_sync_method none (review F13) -------------------------------------------------------

TEST_CASE("system: wal_sync_method none is refused for a cluster with a majority on this node unless allowed", "[actors][start][sync]") {
  temp_dir dir;
  auto cfg = make_config("n1", dir.path());
  cfg.wal.wal_sync_method = storage::sync_method::none;
  auto sys = ra::system::start(cfg);
  REQUIRE(sys);
  const std::vector<server_id> local3{{"s1", "n1"}, {"s2", "n1"}, {"s3", "n1"}};
  auto refused = start_cluster(**sys, "c1", "counter", local3, 5s);
  REQUIRE(!refused);
  CHECK(refused.error().message.find("allow_unsafe_sync_none") != std::string::npos);
  CHECK((*sys)->uid_of("s1").empty());
  // A minority on this node (1 of 3) is allowed: the other two nodes keep the majority safe.
  std::vector<member> spread{member{{"t1", "n1"}}, member{{"t2", "n2"}}, member{{"t3", "n3"}}};
  CHECK((*sys)->start_server("c2", server_id{"t1", "n1"}, "counter", spread));
  (*sys)->stop();

  temp_dir dir2;
  auto allowed_cfg = make_config("n1", dir2.path());
  allowed_cfg.wal.wal_sync_method = storage::sync_method::none;
  allowed_cfg.allow_unsafe_sync_none = true;
  auto allowed = ra::system::start(allowed_cfg);
  REQUIRE(allowed);
  auto c = start_cluster(**allowed, "c1", "counter", local3, 10s);
  REQUIRE(c);
  CHECK(add(**allowed, c->leader, 3) == 3);
}

// -- starting many servers at once ------------------------------------------------------------

TEST_CASE("system: start_servers saves the configs together, answers each request, and they survive a restart",
          "[actors][start]") {
  temp_dir dir;
  storage::faulty_file_system fs{storage::file_system::posix()};
  const std::vector<member> c1{member{{"s1", "n1"}}, member{{"s2", "n1"}}, member{{"s3", "n1"}}};
  {
    auto cfg = make_config("n1", dir.path());
    cfg.fs = &fs;
    auto sys = ra::system::start(cfg);
    REQUIRE(sys);
    // Directory syncs of the data dir itself: one per new server directory when saved one
    // at a time, one for all of them when saved together.
    const auto data_dir = std::filesystem::path{dir.path()}.lexically_normal().string();
    size_t data_dir_syncs = 0, file_syncs = 0;
    fs.set_rule([&](std::string_view op, const std::string& path) {
      if (op == "sync_directory" && std::filesystem::path{path}.lexically_normal().string() == data_dir)
        ++data_dir_syncs;
      if (op == "sync" && path.find("config.tmp") != std::string::npos) ++file_syncs;
      return 0;
    });
    std::vector<ra::system::server_start_request> requests;
    for (auto& m : c1) requests.push_back({"c1", m.id, "counter", c1, ""});
    requests.push_back({"c1", server_id{"s1", "n1"}, "counter", c1, ""});        // a duplicate name
    requests.push_back({"c9", server_id{"s4", "n1"}, "no-such-machine", c1, ""});  // refused
    auto statuses = (*sys)->start_servers(requests);
    fs.clear();
    REQUIRE(statuses.size() == 5);
    CHECK(statuses[0]);
    CHECK(statuses[1]);
    CHECK(statuses[2]);
    REQUIRE(!statuses[3]);
    CHECK(statuses[3].error().message.find("already exists") != std::string::npos);
    REQUIRE(!statuses[4]);
    CHECK(statuses[4].error().code == api_errc::invalid_argument);
    CHECK(data_dir_syncs == 1);
    CHECK(file_syncs == 3);
    CHECK((*sys)->uid_of("s4").empty());
    // They are one working cluster.
    REQUIRE(trigger_election(**sys, server_id{"s1", "n1"}));
    CHECK(add(**sys, server_id{"s1", "n1"}, 4) == 4);
  }
  // The configs are durable and loadable: a new system knows and restarts all three.
  auto sys = ra::system::start(make_config("n1", dir.path()));
  REQUIRE(sys);
  auto known = (*sys)->known_servers();
  std::sort(known.begin(), known.end());
  CHECK(known == std::vector<std::string>{"s1", "s2", "s3"});
  for (auto& m : c1) REQUIRE(restart_server(**sys, m.id));
  CHECK(add(**sys, server_id{"s1", "n1"}, 1) == 5);
}
