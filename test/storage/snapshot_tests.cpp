// Snapshot and checkpoint files, and the chunked transfer helpers, on the real file
// system (a fresh temporary directory per test) and under injected faults.

#include <catch2/catch.hpp>

#include "test/storage/storage_test_util.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/sim_file_system.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot/snapshot_format.hpp"
#include "snapshot/snapshot_transfer.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::temp_dir;
using ra::storage::test::flip_byte;
namespace fs = std::filesystem;

namespace {


stored_snapshot make_snapshot(uint64_t index, uint64_t term, size_t state_size = 1000) {
  std::mt19937 rng(static_cast<unsigned>(index * 7919 + term));
  std::vector<char> state(state_size);
  for (auto& c : state) c = static_cast<char>(rng());
  snapshot_meta meta;
  meta.index = index_t{index};
  meta.term = term_t{term};
  meta.machine_version = 3;
  meta.cluster = cluster_config{{member{server_id{"a", "node1"}, membership::voter, index_t{0}},
                                 member{server_id{"b", "node2"}, membership::promotable, index_t{index}},
                                 member{server_id{"c", ""}, membership::non_voter, index_t{0}}}};
  return stored_snapshot{std::move(meta), shared_bytes{std::move(state)}};
}

std::string snapshot_path(const temp_dir& dir, uint64_t index, uint64_t term) {
  return dir / (std::string{"snapshots/"} + snapshot_file_name(index_t{index}, term_t{term}));
}
std::string checkpoint_path(const temp_dir& dir, uint64_t index, uint64_t term) {
  return dir / (std::string{"checkpoints/"} + snapshot_file_name(index_t{index}, term_t{term}));
}


std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool same(const stored_snapshot& a, const stored_snapshot& b) { return a.meta == b.meta && a.data == b.data; }

}  // namespace

TEST_CASE("snapshot: meta encoding round-trips and rejects damage", "[snapshot]") {
  auto meta = make_snapshot(42, 7).meta;
  auto bytes = snapshot_format::encode_meta(meta);
  CHECK(snapshot_format::decode_meta(bytes) == meta);
  CHECK(snapshot_format::decode_meta(snapshot_format::encode_meta(snapshot_meta{})) == snapshot_meta{});
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    CHECK_FALSE(snapshot_format::decode_meta(std::span<const char>{bytes}.first(cut)));
  auto longer = bytes;
  longer.push_back(0);
  CHECK_FALSE(snapshot_format::decode_meta(longer));
}

TEST_CASE("snapshot: written atomically, read back whole, named by term and index", "[snapshot]") {
  temp_dir dir;
  auto snap = make_snapshot(4096, 5, 100'000);
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), snap));
  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{"0000000000000005_0000000000001000.snapshot"});

  auto loaded = load_latest_valid(file_system::posix(), dir.path());
  REQUIRE(loaded);
  REQUIRE(loaded->snapshot);
  CHECK(same(*loaded->snapshot, snap));
  CHECK(loaded->path == snapshot_path(dir, 4096, 5));
  CHECK(loaded->skipped.empty());
  CHECK(*read_meta(file_system::posix(), loaded->path) == snap.meta);

  // A newer snapshot replaces it; no temporary is left behind.
  auto newer = make_snapshot(8192, 6, 0);
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), newer));
  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{"0000000000000006_0000000000002000.snapshot"});
  loaded = load_latest_valid(file_system::posix(), dir.path());
  REQUIRE(loaded);
  CHECK(same(*loaded->snapshot, newer));
}

TEST_CASE("snapshot: no snapshot directory means no snapshot", "[snapshot]") {
  temp_dir dir;
  auto loaded = load_latest_valid(file_system::posix(), dir.path());
  REQUIRE(loaded);
  CHECK_FALSE(loaded->snapshot);
  CHECK(loaded->skipped.empty());
}

TEST_CASE("snapshot: a corrupt newest snapshot is reported and the older one used", "[snapshot]") {
  temp_dir dir;
  auto older = make_snapshot(100, 2);
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), older));
  auto saved = dir / "older.copy";
  fs::copy_file(snapshot_path(dir, 100, 2), saved);
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(200, 3)));
  fs::copy_file(saved, snapshot_path(dir, 100, 2));  // as if its deletion had not happened yet

  std::string damage;
  SECTION("a flipped state byte") {
    flip_byte(snapshot_path(dir, 200, 3), 500, 0x01);
    damage = "checksum";
  }
  SECTION("a truncated file") {
    fs::resize_file(snapshot_path(dir, 200, 3), 10);
    damage = "truncated";
  }
  SECTION("a file whose name and meta disagree") {
    fs::copy_file(saved, snapshot_path(dir, 200, 3), fs::copy_options::overwrite_existing);
    damage = "name says index 200";
  }
  auto loaded = load_latest_valid(file_system::posix(), dir.path());
  REQUIRE(loaded);
  REQUIRE(loaded->snapshot);
  CHECK(same(*loaded->snapshot, older));
  REQUIRE(loaded->skipped.size() == 1);
  CHECK(loaded->skipped[0].path == snapshot_path(dir, 200, 3));
  CHECK_THAT(loaded->skipped[0].reason, Catch::Contains(damage));
  CHECK(fs::exists(snapshot_path(dir, 200, 3)));  // kept for inspection

  // The next snapshot written clears it out.
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(150, 3)));
  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{snapshot_file_name(index_t{150}, term_t{3})});
}

TEST_CASE("snapshot: every snapshot corrupt leaves none, each reported", "[snapshot]") {
  temp_dir dir;
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(10, 1)));
  flip_byte(snapshot_path(dir, 10, 1), 0, 0x01);
  auto loaded = load_latest_valid(file_system::posix(), dir.path());
  REQUIRE(loaded);
  CHECK_FALSE(loaded->snapshot);
  REQUIRE(loaded->skipped.size() == 1);
  CHECK_THAT(loaded->skipped[0].reason, Catch::Contains("magic"));
  auto read = read_snapshot_file(file_system::posix(), snapshot_path(dir, 10, 1));
  REQUIRE_FALSE(read);
  CHECK(read.error().code == EBADMSG);
}

TEST_CASE("snapshot: ENOSPC while writing leaves the previous snapshot intact", "[snapshot]") {
  temp_dir dir;
  faulty_file_system faulty{file_system::posix()};
  auto previous = make_snapshot(100, 2, 50'000);
  REQUIRE(write_snapshot(faulty, dir.path(), previous));

  std::string failing_op = GENERATE(std::string{"writev"}, std::string{"sync"}, std::string{"rename"});
  faulty.set_rule([&](std::string_view op, const std::string&) { return op == failing_op ? ENOSPC : 0; });
  auto r = write_snapshot(faulty, dir.path(), make_snapshot(200, 3, 50'000));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ENOSPC);
  faulty.clear();

  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{snapshot_file_name(index_t{100}, term_t{2})});
  auto loaded = load_latest_valid(faulty, dir.path());
  REQUIRE(loaded);
  REQUIRE(loaded->snapshot);
  CHECK(same(*loaded->snapshot, previous));
  CHECK(loaded->skipped.empty());
}

TEST_CASE("snapshot: an I/O error while loading fails instead of falling back", "[snapshot]") {
  temp_dir dir;
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(10, 1)));
  faulty_file_system faulty{file_system::posix()};
  faulty.set_rule([](std::string_view op, const std::string&) { return op == "pread" ? EIO : 0; });
  auto loaded = load_latest_valid(faulty, dir.path());
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().code == EIO);
}

TEST_CASE("checkpoint: promotion makes the newest checkpoint at or below an index the snapshot", "[snapshot]") {
  temp_dir dir;
  snapshot_config config;
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(5, 1)));
  for (uint64_t i : {10, 20, 30})
    REQUIRE(write_checkpoint(file_system::posix(), dir.path(), make_snapshot(i, 2), config));
  CHECK(names_in(dir / "checkpoints").size() == 3);

  auto p = promote_checkpoint(file_system::posix(), dir.path(), index_t{25});
  REQUIRE(p);
  REQUIRE(p->promoted);
  CHECK(*p->promoted == make_snapshot(20, 2).meta);
  CHECK(p->skipped.empty());
  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{snapshot_file_name(index_t{20}, term_t{2})});
  CHECK(names_in(dir / "checkpoints") == std::vector<std::string>{snapshot_file_name(index_t{30}, term_t{2})});
  auto loaded = load_latest_valid(file_system::posix(), dir.path());
  REQUIRE(loaded);
  CHECK(same(*loaded->snapshot, make_snapshot(20, 2)));

  // Nothing qualifies below the current snapshot.
  p = promote_checkpoint(file_system::posix(), dir.path(), index_t{29});
  REQUIRE(p);
  CHECK_FALSE(p->promoted);

  // A checkpoint older than the snapshot is never promoted over it.
  REQUIRE(write_checkpoint(file_system::posix(), dir.path(), make_snapshot(15, 2), config));
  p = promote_checkpoint(file_system::posix(), dir.path(), index_t{29});
  REQUIRE(p);
  CHECK_FALSE(p->promoted);
  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{snapshot_file_name(index_t{20}, term_t{2})});
}

TEST_CASE("checkpoint: a torn checkpoint is skipped, reported and deleted on promotion", "[snapshot]") {
  temp_dir dir;
  snapshot_config config;
  for (uint64_t i : {10, 20})
    REQUIRE(write_checkpoint(file_system::posix(), dir.path(), make_snapshot(i, 2), config));
  fs::resize_file(checkpoint_path(dir, 20, 2), 700);  // a crash before writeback
  auto p = promote_checkpoint(file_system::posix(), dir.path(), index_t{100});
  REQUIRE(p);
  REQUIRE(p->promoted);
  CHECK(p->promoted->index == index_t{10});
  REQUIRE(p->skipped.size() == 1);
  CHECK(p->skipped[0].path == checkpoint_path(dir, 20, 2));
  CHECK(names_in(dir / "checkpoints").empty());
}

TEST_CASE("checkpoint: at most max_checkpoints are kept, the newest ones", "[snapshot]") {
  temp_dir dir;
  snapshot_config config;
  config.max_checkpoints = 3;
  for (uint64_t i = 1; i <= 6; ++i)
    REQUIRE(write_checkpoint(file_system::posix(), dir.path(), make_snapshot(i * 100, 1, 10), config));
  CHECK(names_in(dir / "checkpoints") ==
        std::vector<std::string>{snapshot_file_name(index_t{400}, term_t{1}),
                                 snapshot_file_name(index_t{500}, term_t{1}),
                                 snapshot_file_name(index_t{600}, term_t{1})});
  // A snapshot supersedes the checkpoints at or below it.
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(500, 1, 10)));
  CHECK(names_in(dir / "checkpoints") == std::vector<std::string>{snapshot_file_name(index_t{600}, term_t{1})});
}

TEST_CASE("checkpoint: written without fsync, synced on promotion", "[snapshot]") {
  temp_dir dir;
  faulty_file_system faulty{file_system::posix()};
  std::vector<std::string> synced;
  faulty.set_rule([&](std::string_view op, const std::string& path) {
    if (op == "sync" || op == "sync_directory") synced.push_back(path);
    return 0;
  });
  REQUIRE(write_checkpoint(faulty, dir.path(), make_snapshot(10, 1), {}));
  CHECK(synced.empty());
  REQUIRE(promote_checkpoint(faulty, dir.path(), index_t{10})->promoted);
  CHECK(std::count(synced.begin(), synced.end(), checkpoint_path(dir, 10, 1)) == 1);
  CHECK(std::count(synced.begin(), synced.end(), dir / "snapshots") >= 1);
}

TEST_CASE("checkpoint: a failed fsync on promotion is not retried into a snapshot a crash loses", "[snapshot]") {
  // Seed 3328 (real storage): the promotion's fsync of a checkpoint failed; the next
  // promotion synced it again (that succeeds: Linux forgot the dirty pages), validated it
  // from the page cache, renamed it and deleted the older snapshot; a crash then left a
  // damaged snapshot, no valid one, and the segments it had released were gone.
  sim_file_system disk{3328};
  const std::string dir = "/data/s1";
  REQUIRE(disk.create_directories(dir));
  REQUIRE(write_snapshot(disk, dir, make_snapshot(5, 1)));
  REQUIRE(write_checkpoint(disk, dir, make_snapshot(20, 2), {}));  // not synced
  sim_disk_faults failing;
  failing.sync_eio = 1;
  disk.set_faults(failing);
  auto failed = promote_checkpoint(disk, dir, index_t{20});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == EIO);
  disk.set_faults({});
  auto p = promote_checkpoint(disk, dir, index_t{20});
  REQUIRE(p);
  CHECK_FALSE(p->promoted);  // the checkpoint whose pages were forgotten is gone
  disk.crash();
  auto loaded = load_latest_valid(disk, dir);
  REQUIRE(loaded);
  REQUIRE(loaded->snapshot);
  CHECK(same(*loaded->snapshot, make_snapshot(5, 1)));
}

TEST_CASE("transfer: chunks received assemble exactly the snapshot sent", "[snapshot]") {
  temp_dir leader;
  temp_dir follower;
  size_t state_size = GENERATE(size_t{0}, size_t{999}, size_t{2'500'000}, size_t{3'000'000});
  auto snap = make_snapshot(777, 4, state_size);
  REQUIRE(write_snapshot(file_system::posix(), leader.path(), snap));
  REQUIRE(write_snapshot(file_system::posix(), follower.path(), make_snapshot(100, 1)));

  auto sender = snapshot_chunk_reader::open(file_system::posix(), snapshot_path(leader, 777, 4));
  REQUIRE(sender);
  CHECK(sender->meta() == snap.meta);
  uint32_t expected_chunks = state_size == 0 ? 1 : static_cast<uint32_t>((state_size + 999'999) / 1'000'000);
  REQUIRE(sender->chunk_count() == expected_chunks);

  auto receiver = snapshot_receiver::begin(file_system::posix(), follower.path(), sender->meta());
  REQUIRE(receiver);
  for (uint32_t n = 1; n <= sender->chunk_count(); ++n) {
    auto chunk = sender->read_chunk(n);
    REQUIRE(chunk);
    CHECK(chunk->size() == std::min<size_t>(1'000'000, state_size - (n - 1) * size_t{1'000'000}));
    REQUIRE(receiver->accept_chunk(chunk->span()));
  }
  CHECK(sender->read_chunk(0).error().code == ERANGE);
  CHECK(sender->read_chunk(expected_chunks + 1).error().code == ERANGE);
  auto installed = receiver->complete();
  REQUIRE(installed);
  CHECK(*installed == snapshot_path(follower, 777, 4));
  CHECK(names_in(follower / "snapshots") == std::vector<std::string>{snapshot_file_name(index_t{777}, term_t{4})});
  auto loaded = load_latest_valid(file_system::posix(), follower.path());
  REQUIRE(loaded);
  REQUIRE(loaded->snapshot);
  CHECK(same(*loaded->snapshot, snap));
  CHECK(fs::file_size(*installed) == fs::file_size(snapshot_path(leader, 777, 4)));
}

TEST_CASE("transfer: an abandoned or failed transfer leaves the old snapshot and no temporary", "[snapshot]") {
  temp_dir dir;
  auto previous = make_snapshot(100, 1);
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), previous));
  auto incoming = make_snapshot(500, 2, 10'000);
  faulty_file_system faulty{file_system::posix()};
  SECTION("abandoned") {
    auto receiver = snapshot_receiver::begin(faulty, dir.path(), incoming.meta);
    REQUIRE(receiver);
    REQUIRE(receiver->accept_chunk(incoming.data.span().first(5000)));
    CHECK(names_in(dir / "snapshots").size() == 2);
  }
  SECTION("the disk fills up") {
    auto receiver = snapshot_receiver::begin(faulty, dir.path(), incoming.meta);
    REQUIRE(receiver);
    faulty.set_rule([](std::string_view op, const std::string&) { return op == "write" ? ENOSPC : 0; });
    CHECK(receiver->accept_chunk(incoming.data.span()).error().code == ENOSPC);
  }
  SECTION("the sync fails at the end") {
    auto receiver = snapshot_receiver::begin(faulty, dir.path(), incoming.meta);
    REQUIRE(receiver);
    REQUIRE(receiver->accept_chunk(incoming.data.span()));
    faulty.set_rule([](std::string_view op, const std::string&) { return op == "sync" ? EIO : 0; });
    CHECK(receiver->complete().error().code == EIO);
  }
  CHECK(names_in(dir / "snapshots") == std::vector<std::string>{snapshot_file_name(index_t{100}, term_t{1})});
  faulty.clear();
  auto loaded = load_latest_valid(faulty, dir.path());
  REQUIRE(loaded);
  CHECK(same(*loaded->snapshot, previous));
}

TEST_CASE("transfer: a corrupt snapshot is never sent", "[snapshot]") {
  temp_dir dir;
  REQUIRE(write_snapshot(file_system::posix(), dir.path(), make_snapshot(100, 1, 5000)));
  flip_byte(snapshot_path(dir, 100, 1), 3000, 0x01);
  auto sender = snapshot_chunk_reader::open(file_system::posix(), snapshot_path(dir, 100, 1));
  REQUIRE_FALSE(sender);
  CHECK(sender.error().code == EBADMSG);
}
