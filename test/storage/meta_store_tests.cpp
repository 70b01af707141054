// Durable term / vote / last_applied per server.
#include <catch2/catch.hpp>

#include "test/storage/storage_test_util.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>

#include "wal/meta_store.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::temp_dir;

namespace {
server_id sid(const std::string& n) { return server_id{n, "node"}; }
}  // namespace

TEST_CASE("meta store keeps term and vote across reopen", "[storage][meta]") {
  temp_dir d;
  {
    auto s = meta_store::open(file_system::posix(), d.path());
    REQUIRE(s);
    REQUIRE((*s)->put_term_vote("u1", term_t{3}, sid("a")));
    REQUIRE((*s)->put_term_vote("u2", term_t{7}, std::nullopt));
    REQUIRE((*s)->put_last_applied("u1", index_t{42}));
    REQUIRE((*s)->put_term_vote("u1", term_t{4}, sid("b")));
  }
  auto s = meta_store::open(file_system::posix(), d.path());
  REQUIRE(s);
  auto m1 = (*s)->get("u1");
  CHECK(m1.current_term == term_t{4});
  CHECK(m1.voted_for == sid("b"));
  CHECK(m1.last_applied == index_t{42});
  CHECK((*s)->get("u2").current_term == term_t{7});
  CHECK_FALSE((*s)->get("u2").voted_for);
  CHECK((*s)->get("unknown") == server_meta{});
}

TEST_CASE("meta store syncs a vote before returning and never the lazy last_applied", "[storage][meta]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  std::atomic<int> syncs{0};
  fs.set_rule([&](std::string_view op, const std::string& path) {
    if (op == "sync" && path.ends_with("meta.log")) ++syncs;
    return 0;
  });
  auto s = meta_store::open(fs, d.path());
  REQUIRE(s);
  auto before = syncs.load();
  REQUIRE((*s)->put_term_vote("u1", term_t{1}, sid("a")));
  CHECK(syncs.load() == before + 1);
  REQUIRE((*s)->put_last_applied("u1", index_t{5}));
  CHECK(syncs.load() == before + 1);
}

TEST_CASE("a failing sync does not record the vote", "[storage][meta][faults]") {
  temp_dir d;
  faulty_file_system fs{file_system::posix()};
  auto s = meta_store::open(fs, d.path());
  REQUIRE(s);
  REQUIRE((*s)->put_term_vote("u1", term_t{1}, sid("a")));
  fs.set_rule([](std::string_view op, const std::string&) { return op == "sync" ? EIO : 0; });
  auto st = (*s)->put_term_vote("u1", term_t{2}, sid("b"));
  REQUIRE_FALSE(st);
  CHECK(st.error().code == EIO);
  CHECK((*s)->get("u1").current_term == term_t{1});  // the caller must not grant the vote
  fs.clear();
  REQUIRE((*s)->put_term_vote("u1", term_t{2}, sid("b")));
  auto again = meta_store::open(file_system::posix(), d.path());
  REQUIRE(again);
  CHECK((*again)->get("u1").voted_for == sid("b"));
}

TEST_CASE("a torn last record is dropped and earlier ones survive", "[storage][meta][recovery]") {
  temp_dir d;
  std::string path;
  {
    auto s = meta_store::open(file_system::posix(), d.path(), /*compact_after=*/1 << 30);
    REQUIRE(s);
    REQUIRE((*s)->put_term_vote("u1", term_t{1}, sid("a")));
    REQUIRE((*s)->put_term_vote("u1", term_t{2}, sid("b")));
    path = (*s)->path();
  }
  auto size = std::filesystem::file_size(path);
  for (uintmax_t cut = 1; cut < 20; ++cut) {
    std::filesystem::copy_file(path, path + ".orig", std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(path, size - cut);
    auto s = meta_store::open(file_system::posix(), d.path());
    REQUIRE(s);
    CHECK((*s)->get("u1").current_term == term_t{1});
    std::filesystem::copy_file(path + ".orig", path, std::filesystem::copy_options::overwrite_existing);
  }
}

TEST_CASE("corruption before the last record is an error naming the file and offset", "[storage][meta][recovery]") {
  temp_dir d;
  std::string path;
  {
    auto s = meta_store::open(file_system::posix(), d.path(), 1 << 30);
    REQUIRE(s);
    REQUIRE((*s)->put_term_vote("u1", term_t{1}, sid("a")));
    REQUIRE((*s)->put_term_vote("u2", term_t{2}, sid("b")));
    path = (*s)->path();
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 10);  // inside the first record's body
    f.put('\x7f');
  }
  auto s = meta_store::open(file_system::posix(), d.path());
  REQUIRE_FALSE(s);
  CHECK(s.error().path.find("meta.log at offset 8") != std::string::npos);
}

TEST_CASE("compaction keeps the latest state and removed servers stay removed", "[storage][meta]") {
  temp_dir d;
  auto s = meta_store::open(file_system::posix(), d.path(), /*compact_after=*/512);
  REQUIRE(s);
  for (uint64_t t = 1; t <= 100; ++t) REQUIRE((*s)->put_term_vote("u" + std::to_string(t % 3), term_t{t}, sid("x")));
  REQUIRE((*s)->remove("u0"));
  CHECK(std::filesystem::file_size((*s)->path()) < 1024);
  auto again = meta_store::open(file_system::posix(), d.path());
  REQUIRE(again);
  CHECK((*again)->server_count() == 2);
  CHECK((*again)->get("u1").current_term == term_t{100});
  CHECK((*again)->get("u2").current_term == term_t{98});
  CHECK((*again)->get("u0") == server_meta{});
}

#include "wal/config_store.hpp"

TEST_CASE("a server config round-trips and a damaged one is refused with its path", "[storage][config]") {
  temp_dir d;
  persisted_server_config c;
  c.uid = "counter_AB12CD";
  c.machine = "counter";
  c.machine_args = "{}";
  c.server.id = server_id{"c1", "node-a"};
  c.server.cluster_name = "counter";
  c.server.initial_members = {member{server_id{"c1", "node-a"}}, member{server_id{"c2", "node-b"}, membership::non_voter}};
  c.server.tick_timeout_ms = 777;
  REQUIRE(save_server_config(file_system::posix(), d.path() + "/s", c));
  auto back = load_server_config(file_system::posix(), d.path() + "/s");
  REQUIRE(back);
  CHECK(*back == c);
  CHECK(back->server.initial_members[1].kind == membership::non_voter);
  {
    std::fstream f(d.path() + "/s/config", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12);
    f.put('#');
  }
  auto bad = load_server_config(file_system::posix(), d.path() + "/s");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().path.find("/s/config") != std::string::npos);
  CHECK_FALSE(load_server_config(file_system::posix(), d.path() + "/missing"));
}

TEST_CASE("a torn last record whose length did not land is dropped (size-ahead crash)", "[storage][meta][recovery]") {
  // XFS-like writeback: the file's new size landed, the record's first sector only in
  // part: its CRC is there, its length and body are zeros up to the end of the file.
  temp_dir d;
  std::string path;
  std::vector<char> last;
  {
    auto s = meta_store::open(file_system::posix(), d.path(), 1 << 30);
    REQUIRE(s);
    REQUIRE((*s)->put_term_vote("u1", term_t{1}, sid("a")));
    path = (*s)->path();
    auto before = std::filesystem::file_size(path);
    REQUIRE((*s)->put_term_vote("u1", term_t{2}, sid("b")));
    auto after = std::filesystem::file_size(path);
    std::ifstream in(path, std::ios::binary);
    std::vector<char> all(after);
    in.read(all.data(), static_cast<std::streamsize>(after));
    last.assign(all.begin() + static_cast<long>(before), all.end());
    std::filesystem::resize_file(path, before);
  }
  for (size_t landed : {size_t{1}, size_t{4}, size_t{6}}) {
    auto orig = std::filesystem::file_size(path);
    {
      std::ofstream out(path, std::ios::binary | std::ios::app);
      out.write(last.data(), static_cast<std::streamsize>(landed));
      std::vector<char> zeros(last.size() - landed + 100, 0);
      out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    }
    {
      auto s = meta_store::open(file_system::posix(), d.path(), 1 << 30);
      REQUIRE(s);
      CHECK((*s)->get("u1").current_term == term_t{1});
    }
    // open compacted the file: append the torn record again to the clean file.
    (void)orig;
  }
}

TEST_CASE("a damaged record followed by a whole one is corruption, not a torn tail", "[storage][meta][recovery]") {
  temp_dir d;
  std::string path;
  {
    auto s = meta_store::open(file_system::posix(), d.path(), 1 << 30);
    REQUIRE(s);
    REQUIRE((*s)->put_term_vote("u1", term_t{1}, sid("a")));
    REQUIRE((*s)->put_term_vote("u2", term_t{2}, sid("b")));
    path = (*s)->path();
  }
  {
    // Zero the first record's length field: it no longer says where the next one is.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 4);
    const char zeros[4] = {};
    f.write(zeros, 4);
  }
  auto s = meta_store::open(file_system::posix(), d.path());
  REQUIRE_FALSE(s);
  CHECK(s.error().path.find("meta.log at offset 8") != std::string::npos);
}
