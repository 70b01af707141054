// The simulated disk's crash model and faults: what survives a crash with and without
// syncs, torn and out-of-order pages, undone directory changes, Linux's failed-fsync
// semantics, injected errors, bit rot and replay from a seed.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "io/atomic_write.hpp"
#include "io/sim_file_system.hpp"

using namespace ra::storage;

namespace {

constexpr uint64_t page = sim_file_system::page_size;

std::vector<char> bytes(size_t n, char c) { return std::vector<char>(n, c); }

std::unique_ptr<file> open_file(file_system& fs, const std::string& path, open_mode mode) {
  auto f = fs.open(path, {mode});
  REQUIRE(f.has_value());
  return std::move(*f);
}

std::vector<char> contents(file_system& fs, const std::string& path) {
  auto data = read_file(fs, path);
  REQUIRE(data.has_value());
  return *data;
}

/// A disk with /d holding `name`, created and named durably, with `synced` bytes of 'a'
/// synced and then `unsynced` bytes of 'b' appended and not synced.
void prepare(sim_file_system& fs, const std::string& name, size_t synced, size_t unsynced) {
  REQUIRE(fs.create_directories("/d"));
  auto f = open_file(fs, "/d/" + name, open_mode::create);
  REQUIRE(f->write(bytes(synced, 'a')));
  REQUIRE(f->sync(sync_method::datasync));
  REQUIRE(fs.sync_directory("/d"));
  REQUIRE(f->write(bytes(unsynced, 'b')));
}

}  // namespace

TEST_CASE("sim disk: synced data and synced names survive every crash", "[io][sim_fs]") {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    sim_file_system fs(seed);
    prepare(fs, "f", 3 * page + 100, 0);
    fs.crash();
    REQUIRE(contents(fs, "/d/f") == bytes(3 * page + 100, 'a'));
  }
}

TEST_CASE("sim disk: unsynced pages are lost, kept or torn at sector granularity", "[io][sim_fs]") {
  bool saw_lost = false, saw_kept = false, saw_torn = false;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    sim_file_system fs(seed);
    prepare(fs, "f", page, 2 * page);  // page 0 synced, pages 1 and 2 not
    fs.crash();
    auto after = contents(fs, "/d/f");
    REQUIRE(after.size() >= page);
    REQUIRE(std::vector<char>(after.begin(), after.begin() + page) == bytes(page, 'a'));
    if (after.size() == page) {
      saw_lost = true;  // the size change did not survive
      continue;
    }
    REQUIRE(after.size() == 3 * page);
    for (uint64_t p = 1; p < 3; ++p) {
      size_t new_sectors = 0;
      for (uint64_t s = 0; s < page; s += sim_file_system::sector_size) {
        const char* sector = after.data() + p * page + s;
        // A sector is whole: all new ('b') or all old (zeros beyond the durable end).
        bool all_new = std::all_of(sector, sector + sim_file_system::sector_size, [](char c) { return c == 'b'; });
        bool all_old = std::all_of(sector, sector + sim_file_system::sector_size, [](char c) { return c == 0; });
        REQUIRE((all_new || all_old));
        new_sectors += all_new;
      }
      const size_t sectors = page / sim_file_system::sector_size;
      saw_kept |= new_sectors == sectors;
      saw_torn |= new_sectors > 0 && new_sectors < sectors;
      saw_lost |= new_sectors == 0;
    }
  }
  CHECK(saw_lost);
  CHECK(saw_kept);
  CHECK(saw_torn);
}

TEST_CASE("sim disk: a later page can survive while an earlier one reads as zeros", "[io][sim_fs]") {
  // Writeback out of order: the header of a record lost, the records after it on disk.
  bool saw_hole = false;
  for (uint64_t seed = 1; seed <= 200 && !saw_hole; ++seed) {
    sim_file_system fs(seed, {.keep_page = 0.5, .tear_page = 0, .keep_new_size = 1});
    prepare(fs, "f", 0, 4 * page);
    fs.crash();
    auto after = contents(fs, "/d/f");
    REQUIRE(after.size() == 4 * page);  // keep_new_size = 1
    bool first_lost = after[0] == 0, last_kept = after[3 * page] == 'b';
    saw_hole = first_lost && last_kept;
  }
  CHECK(saw_hole);
}

TEST_CASE("sim disk: a crash with nothing unsynced changes nothing, and counts", "[io][sim_fs]") {
  sim_file_system fs(7);
  prepare(fs, "f", 100, 0);
  REQUIRE(fs.unsynced_pages() == 0);
  fs.crash();
  CHECK(fs.counters().crashes == 1);
  CHECK(fs.counters().pages_kept + fs.counters().pages_lost + fs.counters().pages_torn == 0);
  CHECK(fs.counters().dir_changes_undone == 0);
}

TEST_CASE("sim disk: a created file whose directory was not synced can vanish despite a data sync",
          "[io][sim_fs]") {
  bool vanished = false, stayed = false;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    sim_file_system fs(seed);
    REQUIRE(fs.create_directories("/d"));
    auto f = open_file(fs, "/d/new", open_mode::create);
    REQUIRE(f->write(bytes(10, 'x')));
    REQUIRE(f->sync(sync_method::datasync));
    fs.crash();
    if (fs.exists("/d/new")) {
      stayed = true;
      CHECK(contents(fs, "/d/new") == bytes(10, 'x'));
    } else {
      vanished = true;
    }
  }
  CHECK(vanished);
  CHECK(stayed);
}

TEST_CASE("sim disk: a rename is atomic, may be undone without a directory sync, and is kept with one",
          "[io][sim_fs]") {
  bool undone = false, kept = false;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    sim_file_system fs(seed);
    REQUIRE(write_file_atomically(fs, "/d/x", bytes(50, 'o'), sync_method::datasync).error().code == ENOENT);
    REQUIRE(fs.create_directories("/d"));
    REQUIRE(write_file_atomically(fs, "/d/x", bytes(50, 'o'), sync_method::datasync));
    // The replacement without the directory sync (sync_method::none skips it and the data sync).
    {
      auto f = open_file(fs, "/d/x.tmp", open_mode::create);
      REQUIRE(f->write(bytes(60, 'n')));
      REQUIRE(f->sync(sync_method::datasync));
    }
    REQUIRE(fs.rename("/d/x.tmp", "/d/x"));
    fs.crash();
    auto after = contents(fs, "/d/x");
    if (after == bytes(50, 'o')) {
      undone = true;
    } else {
      REQUIRE(after == bytes(60, 'n'));  // never a mix, never missing
      CHECK_FALSE(fs.exists("/d/x.tmp"));
      kept = true;
    }
  }
  CHECK(undone);
  CHECK(kept);

  for (uint64_t seed = 1; seed <= 50; ++seed) {
    sim_file_system fs(seed);
    REQUIRE(fs.create_directories("/d"));
    REQUIRE(write_file_atomically(fs, "/d/x", bytes(50, 'o'), sync_method::datasync));
    REQUIRE(write_file_atomically(fs, "/d/x", bytes(60, 'n'), sync_method::datasync));
    fs.crash();
    REQUIRE(contents(fs, "/d/x") == bytes(60, 'n'));
    REQUIRE(fs.list("/d").value() == std::vector<std::string>{"x"});
  }
}

TEST_CASE("sim disk: an unsynced remove may be undone, a synced one is not", "[io][sim_fs]") {
  bool came_back = false;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    sim_file_system fs(seed);
    prepare(fs, "f", 10, 0);
    REQUIRE(fs.remove("/d/f"));
    REQUIRE_FALSE(fs.exists("/d/f"));
    sim_file_system synced(seed);
    prepare(synced, "f", 10, 0);
    REQUIRE(synced.remove("/d/f"));
    REQUIRE(synced.sync_directory("/d"));
    fs.crash();
    synced.crash();
    came_back |= fs.exists("/d/f");
    REQUIRE_FALSE(synced.exists("/d/f"));
  }
  CHECK(came_back);
}

TEST_CASE("sim disk: a failed fsync forgets the pages: readable until the crash, lost after it",
          "[io][sim_fs]") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    // Every unsynced page would survive the crash, unless the failed sync dropped it.
    sim_file_system fs(seed, {.keep_page = 1, .tear_page = 0, .keep_new_size = 1});
    prepare(fs, "f", 100, 0);
    auto f = open_file(fs, "/d/f", open_mode::read_write);
    REQUIRE(f->pwrite(bytes(100, 'z'), 0));
    fs.set_faults({.sync_eio = 1});
    auto failed = f->sync(sync_method::datasync);
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().code == EIO);
    fs.set_faults({});
    CHECK(contents(fs, "/d/f") == bytes(100, 'z'));  // still in the page cache
    REQUIRE(f->sync(sync_method::datasync));         // reports success, writes nothing
    fs.crash();
    CHECK(contents(fs, "/d/f") == bytes(100, 'a'));
    CHECK(fs.counters().sync_faults == 1);
  }
}

TEST_CASE("sim disk: EIO on write writes nothing, ENOSPC may write a prefix, both are reported",
          "[io][sim_fs]") {
  sim_file_system fs(3);
  REQUIRE(fs.create_directories("/d"));
  auto f = open_file(fs, "/d/f", open_mode::create);
  fs.set_faults({.write_eio = 1});
  auto st = f->write(bytes(1000, 'q'));
  REQUIRE_FALSE(st.has_value());
  CHECK(st.error().code == EIO);
  CHECK(f->size().value() == 0);

  bool saw_partial = false;
  fs.set_faults({.write_enospc = 1});
  for (int i = 0; i < 20; ++i) {
    uint64_t before = f->size().value();
    st = f->write(bytes(1000, 'q'));
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code == ENOSPC);
    uint64_t written = f->size().value() - before;
    CHECK(written <= 1000);
    saw_partial |= written > 0 && written < 1000;
  }
  CHECK(saw_partial);
  CHECK(fs.counters().write_faults == 21);
  fs.set_faults({});
  uint64_t before = f->size().value();
  REQUIRE(f->write(bytes(5, 'r')));  // appends after whatever the failed writes left
  auto data = contents(fs, "/d/f");
  REQUIRE(data.size() == before + 5);
  CHECK(std::string(data.end() - 5, data.end()) == "rrrrr");
}

TEST_CASE("sim disk: sync and directory sync faults are reported and leave changes pending",
          "[io][sim_fs]") {
  sim_file_system fs(5, {.keep_page = 1, .tear_page = 0, .keep_new_size = 1});
  REQUIRE(fs.create_directories("/d"));
  auto f = open_file(fs, "/d/f", open_mode::create);
  fs.set_faults({.sync_enospc = 1, .dir_sync_eio = 1});
  REQUIRE(f->write(bytes(10, 'w')));
  CHECK(f->sync(sync_method::sync).error().code == ENOSPC);
  CHECK(fs.sync_directory("/d").error().code == EIO);
  CHECK(f->sync(sync_method::none));  // no sync, so no fault
  CHECK(fs.counters().sync_faults == 2);
}

TEST_CASE("sim disk: bit rot flips one bit of a synced page, for good, never of an unsynced one",
          "[io][sim_fs]") {
  sim_file_system fs(11);
  prepare(fs, "f", page, page);  // page 0 synced, page 1 dirty
  fs.set_faults({.read_bit_flip = 1});
  auto f = open_file(fs, "/d/f", open_mode::read);
  std::vector<char> dirty(page);
  REQUIRE(f->pread(dirty, page).value() == page);
  CHECK(dirty == bytes(page, 'b'));
  CHECK(fs.counters().bits_flipped == 0);

  std::vector<char> clean(page);
  REQUIRE(f->pread(clean, 0).value() == page);
  CHECK(fs.counters().bits_flipped == 1);
  size_t differing_bits = 0;
  for (char c : clean)
    differing_bits += static_cast<size_t>(__builtin_popcount(static_cast<unsigned char>(c ^ 'a')));
  CHECK(differing_bits == 1);
  fs.set_faults({});
  std::vector<char> again(page);
  REQUIRE(f->pread(again, 0).value() == page);
  CHECK(again == clean);  // the rot is on the disk, not in one read
  fs.crash();
  auto after = contents(fs, "/d/f");
  REQUIRE(after.size() >= page);
  CHECK(std::vector<char>(after.begin(), after.begin() + page) == clean);
}

TEST_CASE("sim disk: handles opened before a crash fail with EIO", "[io][sim_fs]") {
  sim_file_system fs(1);
  prepare(fs, "f", 10, 0);
  auto f = open_file(fs, "/d/f", open_mode::read_write);
  fs.crash();
  CHECK(f->write(bytes(1, 'x')).error().code == EIO);
  std::vector<char> out(4);
  CHECK(f->pread(out, 0).error().code == EIO);
  CHECK(contents(fs, "/d/f") == bytes(10, 'a'));
}

TEST_CASE("sim disk: the same seed replays the same crash, another seed differs", "[io][sim_fs]") {
  auto run = [](uint64_t seed) {
    sim_file_system fs(seed);
    prepare(fs, "f", page, 16 * page);
    REQUIRE(fs.rename("/d/f", "/d/g"));
    fs.crash();
    std::string name = fs.exists("/d/g") ? "/d/g" : "/d/f";
    auto data = contents(fs, name);
    return name + std::string(data.begin(), data.end());
  };
  CHECK(run(42) == run(42));
  bool differs = false;
  for (uint64_t seed = 43; seed < 53; ++seed)
    differs |= run(seed) != run(42);
  CHECK(differs);
}

TEST_CASE("sim disk: directories, names and opening behave like POSIX", "[io][sim_fs]") {
  sim_file_system fs(1);
  CHECK(fs.open("/nowhere/f", {open_mode::create}).error().code == ENOENT);
  REQUIRE(fs.create_directories("/a/b/c"));
  CHECK(fs.open("/a/b/missing", {open_mode::read}).error().code == ENOENT);
  CHECK(fs.open("/a/b", {open_mode::read}).error().code == EISDIR);
  open_file(fs, "/a/b/f1", open_mode::create);
  open_file(fs, "/a/b/f0", open_mode::append_create);
  CHECK(fs.list("/a/b").value() == std::vector<std::string>{"c", "f0", "f1"});
  CHECK(fs.remove("/a/b").error().code == ENOTEMPTY);
  REQUIRE(fs.remove("/a/b/c"));
  CHECK_FALSE(fs.exists("/a/b/c"));
  CHECK(fs.exists("/a/b/f0"));
  CHECK(fs.rename("/a/b/none", "/a/b/x").error().code == ENOENT);
  REQUIRE(fs.create_directories("/a/e"));
  REQUIRE(fs.rename("/a/b/f0", "/a/e/f0"));
  CHECK(fs.list("/a/e").value() == std::vector<std::string>{"f0"});
  auto ro = open_file(fs, "/a/e/f0", open_mode::read);
  CHECK(ro->write(bytes(1, 'x')).error().code == EBADF);
  // Truncate, then append at the new end (the position follows, as in posix_file).
  auto f = open_file(fs, "/a/b/f1", open_mode::read_write);
  REQUIRE(f->write(bytes(100, 'k')));
  REQUIRE(f->truncate(40));
  REQUIRE(f->write(bytes(2, 'm')));
  auto data = contents(fs, "/a/b/f1");
  REQUIRE(data.size() == 42);
  CHECK(data[39] == 'k');
  CHECK(data[40] == 'm');
}

TEST_CASE("sim disk: a power cut strikes inside an operation, and the disk is dead until crash()",
          "[io][sim_fs]") {
  bool saw_prefix = false;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    sim_file_system fs(seed, {.keep_page = 1, .tear_page = 0, .keep_new_size = 1});
    prepare(fs, "f", 100, 0);
    auto f = open_file(fs, "/d/f", open_mode::read_write);
    fs.cut_power_after(1);
    REQUIRE(f->write(bytes(3 * page, 'c')));  // the one operation let through
    CHECK_FALSE(fs.powered_off());
    auto dying = f->sync(sync_method::datasync);  // the power goes before the sync
    REQUIRE_FALSE(dying.has_value());
    CHECK(dying.error().code == EIO);
    REQUIRE(fs.powered_off());
    CHECK(fs.open("/d/f", {open_mode::read}).error().code == EIO);
    CHECK(fs.rename("/d/f", "/d/g").error().code == EIO);
    CHECK_FALSE(fs.exists("/d/f"));
    fs.crash();  // turns the power back on; the model already ran at the cut
    CHECK(fs.counters().crashes == 1);
    CHECK(fs.counters().power_cuts == 1);
    auto after = contents(fs, "/d/f");
    // keep_page = 1: the unsynced pages survived the cut (the sync never ran).
    REQUIRE(after.size() == 100 + 3 * page);
    CHECK(std::all_of(after.begin(), after.begin() + 100, [](char c) { return c == 'a'; }));

    // A cut inside a write leaves a prefix of it.
    sim_file_system torn(seed, {.keep_page = 1, .tear_page = 0, .keep_new_size = 1});
    prepare(torn, "f", 0, 0);
    auto g = open_file(torn, "/d/f", open_mode::read_write);
    torn.cut_power_after(0);
    CHECK(g->write(bytes(2 * page, 'p')).error().code == EIO);
    torn.crash();
    auto left = contents(torn, "/d/f");
    REQUIRE(left.size() <= 2 * page);
    CHECK(std::all_of(left.begin(), left.end(), [](char c) { return c == 'p'; }));
    saw_prefix |= !left.empty() && left.size() < 2 * page;
  }
  CHECK(saw_prefix);
}

TEST_CASE("sim disk: a power cut before a rename or a directory sync leaves the old names",
          "[io][sim_fs]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim_file_system fs(seed);
    REQUIRE(fs.create_directories("/d"));
    REQUIRE(write_file_atomically(fs, "/d/x", bytes(10, 'o'), sync_method::datasync));
    // write_file_atomically: open(create), write, sync, rename, sync_directory: cut at the rename.
    fs.cut_power_after(3);
    CHECK_FALSE(write_file_atomically(fs, "/d/x", bytes(10, 'n'), sync_method::datasync).has_value());
    REQUIRE(fs.powered_off());
    fs.crash();
    CHECK(contents(fs, "/d/x") == bytes(10, 'o'));
  }
}

TEST_CASE("sim disk: the page and sector sizes come from the crash model", "[io][sim_fs]") {
  // 128-byte pages of 16-byte sectors: a 1 KiB unsynced write is 8 pages, each decided alone.
  bool mixed = false;
  for (uint64_t seed = 1; seed <= 50 && !mixed; ++seed) {
    sim_file_system fs(seed, {.keep_page = 0.5, .tear_page = 0, .keep_new_size = 1, .page_bytes = 128,
                              .sector_bytes = 16});
    prepare(fs, "f", 0, 1024);
    fs.crash();
    auto after = contents(fs, "/d/f");
    REQUIRE(after.size() == 1024);
    size_t kept = 0;
    for (size_t p = 0; p < 8; ++p) {
      const char* page_start = after.data() + p * 128;
      bool all_new = std::all_of(page_start, page_start + 128, [](char c) { return c == 'b'; });
      bool all_old = std::all_of(page_start, page_start + 128, [](char c) { return c == 0; });
      REQUIRE((all_new || all_old));  // tear_page = 0: whole pages only
      kept += all_new;
    }
    mixed = kept > 0 && kept < 8;
  }
  CHECK(mixed);
}

TEST_CASE("sim disk: with in-order writeback, what survives of unsynced pages is a prefix", "[io][sim_fs]") {
  bool saw_partial_prefix = false;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    sim_file_system fs(seed, {.keep_page = 0.7, .tear_page = 0.2, .keep_new_size = 1, .reorder_writeback = false,
                              .page_bytes = 128, .sector_bytes = 16});
    prepare(fs, "f", 0, 1024);
    fs.crash();
    auto after = contents(fs, "/d/f");
    REQUIRE(after.size() == 1024);
    // Once a byte is old (zero), every later byte is too: never a hole before new data.
    // (A torn page keeps a prefix of its sectors; after it, nothing new.)
    auto first_old = std::find(after.begin(), after.end(), 0);
    CHECK(std::all_of(first_old, after.end(), [](char c) { return c == 0; }));
    saw_partial_prefix |= first_old != after.end() && first_old != after.begin();
  }
  CHECK(saw_partial_prefix);
}

TEST_CASE("sim disk: in order without size_runs_ahead, the file ends where the landed data ends",
          "[io][sim_fs]") {
  bool saw_shorter = false;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    sim_file_system fs(seed, {.keep_page = 0.7, .tear_page = 0.2, .keep_new_size = 1, .reorder_writeback = false,
                              .size_runs_ahead = false, .page_bytes = 128, .sector_bytes = 16});
    prepare(fs, "f", 0, 1024);
    fs.crash();
    auto after = contents(fs, "/d/f");
    // Never a zero tail: every byte that is there is new data.
    CHECK(std::all_of(after.begin(), after.end(), [](char c) { return c == 'b'; }));
    saw_shorter |= !after.empty() && after.size() < 1024;
  }
  CHECK(saw_shorter);
}
