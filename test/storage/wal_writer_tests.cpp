// The WAL writer: batching (one sync per batch), roll-over, overwrites, gap detection,
// I/O failures and recovery.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <thread>

#include "test/storage/storage_test_util.hpp"
#include "io/file.hpp"
#include "wal/wal_format.hpp"
#include "wal/wal_reader.hpp"
#include "wal/wal_writer.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::make_entries;
using ra::storage::test::read_bytes;
using ra::storage::test::temp_dir;
using ra::storage::test::write_bytes;

namespace {

/// A faulty_file_system that counts syncs of WAL files and fails what the test arms.
struct counting_fs {
  faulty_file_system fs{file_system::posix()};
  int wal_syncs = 0;
  int fail_write_with = 0;  ///< errno for writes of *.wal, 0 = let them through
  int fail_sync_with = 0;
  int fail_truncate_with = 0;
  std::chrono::milliseconds sync_delay{0};  ///< each sync of a WAL file takes this much longer

  counting_fs() {
    fs.set_rule([this](std::string_view op, const std::string& path) {
      if (!path.ends_with(".wal"))
        return 0;
      if (op == "sync") {
        ++wal_syncs;
        std::this_thread::sleep_for(sync_delay);
        return fail_sync_with;
      }
      if (op == "write")
        return fail_write_with;
      if (op == "truncate")
        return fail_truncate_with;
      return 0;
    });
  }
};

wal_config config_in(const temp_dir& dir, file_system* fs = nullptr) {
  wal_config c;
  c.wal_data_dir = dir / "wal";
  c.fs = fs;
  return c;
}

wal_recovery recover_all(wal_config c) {
  c.lock_directory = false;  // a peek at the files, also while a writer holds them
  wal_writer reader{c};
  wal_recovery rec;
  auto rc = reader.recover(rec);
  INFO((rc ? std::string() : rc.error().message()));
  REQUIRE(rc);
  return rec;
}

/// Where each entry record of a WAL file starts, in file order.
std::vector<uint64_t> record_offsets(const std::string& path) {
  std::vector<uint64_t> offsets;
  wal_reader reader{file_system::posix(), path};
  while (reader.next() == wal_reader::step::record)
    offsets.push_back(reader.record().offset);
  return offsets;
}

std::map<std::string, index_t> written_map(const flush_result& r) {
  std::map<std::string, index_t> out;
  for (const auto& w : r.written)
    out[w.writer] = w.index;
  return out;
}

/// How often each (writer, index) occurs in a WAL file: 1 each for a clean file.
std::map<std::pair<std::string, uint64_t>, int> record_counts(const std::string& path) {
  std::map<std::pair<std::string, uint64_t>, int> counts;
  wal_reader reader{file_system::posix(), path};
  while (reader.next() == wal_reader::step::record)
    ++counts[{std::string(reader.record().writer_uid), reader.record().entry.index.value}];
  return counts;
}

}  // namespace

TEST_CASE("wal writer: one write and one sync per batch, durable per writer", "[wal][writer]") {
  temp_dir dir;
  counting_fs cfs;
  wal_writer wal{config_in(dir, &cfs.fs)};
  for (uint64_t i = 1; i <= 30; ++i) {
    CHECK(wal.queue("a", make_entries(i, i, 1)).status == queue_status::queued);
    CHECK(wal.queue("b", make_entries(2 * i - 1, 2 * i, 4)).status == queue_status::queued);
  }
  CHECK(wal.pending_entries() == 90);
  auto r = wal.flush();
  REQUIRE(r.ok());
  CHECK(cfs.wal_syncs == 1);
  CHECK(wal.stats().syncs == 1);
  CHECK(wal.stats().batches == 1);
  CHECK(written_map(r) == std::map<std::string, index_t>{{"a", index_t{30}}, {"b", index_t{60}}});
  for (const auto& w : r.written)
    CHECK(w.term == term_t{w.writer == "a" ? 1u : 4u});
  CHECK(wal.flush().written.empty());  // nothing queued: no write, no sync
  CHECK(cfs.wal_syncs == 1);
  for (uint64_t i = 31; i <= 35; ++i) {
    wal.queue("a", make_entries(i, i, 1));
    REQUIRE(wal.flush().ok());
  }
  CHECK(cfs.wal_syncs == 6);

  auto rec = recover_all(config_in(dir));
  CHECK(rec.entries["a"] == make_entries(1, 35, 1));
  CHECK(rec.entries["b"] == make_entries(1, 60, 4));
  REQUIRE(rec.files.size() == 1);
  CHECK(rec.torn_tails.empty());
}

TEST_CASE("wal writer: sync latency histogram, slow syncs counted and reported once per interval", "[wal][writer]") {
  temp_dir dir;
  counting_fs cfs;
  auto cfg = config_in(dir, &cfs.fs);
  cfg.wal_write_strategy = write_strategy::default_strategy;
  cfg.wal_slow_sync_threshold = std::chrono::milliseconds{200};
  std::vector<std::string> notices;
  cfg.on_notice = [&](std::string_view text) { notices.emplace_back(text); };
  wal_writer wal{cfg};
  auto flush_one = [&](uint64_t i) {
    wal.queue("a", make_entries(i, i, 1));
    REQUIRE(wal.flush().ok());
  };
  flush_one(1);
  CHECK(wal.stats().slow_syncs == 0);
  cfs.sync_delay = std::chrono::milliseconds{250};
  for (uint64_t i = 2; i <= 4; ++i) flush_one(i);

  const auto& st = wal.stats();
  CHECK(st.batches == 4);
  CHECK(st.slow_syncs == 3);
  uint64_t counted = 0;
  for (auto n : st.sync_latency_counts) counted += n;
  CHECK(counted == 4);
  // Over 250 ms each: the buckets up to 250 ms hold only the first, fast, batch.
  uint64_t up_to_250ms = 0;
  for (size_t i = 0; i < ra::wal_sync_latency_bounds.size() && ra::wal_sync_latency_bounds[i] <= 0.25; ++i)
    up_to_250ms += st.sync_latency_counts[i];
  CHECK(up_to_250ms == 1);
  CHECK(st.sync_latency_ns_sum >= 750'000'000);
  // Reported once (the first slow one), with its figures; the next two wait for the interval.
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].find("wal: slow sync: 1 batch(es) over 200 ms") == 0);
  CHECK(notices[0].find("(1 slow of 2 batches in all)") != std::string::npos);
  // What other threads read is what the writer counted.
  auto published = wal.published_metrics()->read();
  CHECK(published.batches == 4);
  CHECK(published.slow_syncs == 3);
  CHECK(published.sync_latency_counts == st.sync_latency_counts);
  CHECK(published.sync_latency_ns_sum == st.sync_latency_ns_sum);
}

TEST_CASE("wal writer: roll-over by size hands over the closed file's ranges", "[wal][writer]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_max_size_bytes = 1000;  // raised to the 64 KiB minimum
  std::vector<rollover_info> rolled;
  wal_writer wal{c, [&](rollover_info info) { rolled.push_back(std::move(info)); }};
  // Batches of 10 entries of ~1 KiB: the 7th batch takes the file past 65536 bytes.
  for (uint64_t batch = 0; batch < 10; ++batch) {
    wal.queue("w", make_entries(batch * 10 + 1, batch * 10 + 10, 1, 1000));
    wal.queue("v", make_entries(batch + 1, batch + 1, 2));
    REQUIRE(wal.flush().ok());
  }
  REQUIRE(rolled.size() == 1);
  CHECK(rolled[0].path == dir / "wal/0000000000000001.wal");
  REQUIRE(rolled[0].writers.size() == 2);
  CHECK(rolled[0].writers[0].writer == "v");
  CHECK(rolled[0].writers[0].first == index_t{1});
  CHECK(rolled[0].writers[0].last == index_t{7});
  CHECK(rolled[0].writers[1].writer == "w");
  CHECK(rolled[0].writers[1].first == index_t{1});
  CHECK(rolled[0].writers[1].last == index_t{70});
  CHECK(read_bytes(rolled[0].path).size() > 65536);
  CHECK(wal.current_path() == dir / "wal/0000000000000002.wal");
  CHECK(!std::filesystem::exists(dir / "wal/0000000000000002.wal.tmp"));

  auto rec = recover_all(config_in(dir));
  CHECK(rec.entries["w"] == make_entries(1, 100, 1, 1000));
  CHECK(rec.entries["v"] == make_entries(1, 10, 2));
  REQUIRE(rec.files.size() == 2);
  CHECK(rec.files[1].writers[1].first == index_t{71});
  CHECK(rec.files[1].writers[1].last == index_t{100});
}

TEST_CASE("wal writer: roll-over by entry count", "[wal][writer]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_max_entries = 10;
  std::vector<rollover_info> rolled;
  wal_writer wal{c, [&](rollover_info info) { rolled.push_back(std::move(info)); }};
  for (uint64_t batch = 0; batch < 7; ++batch) {
    wal.queue("w", make_entries(batch * 4 + 1, batch * 4 + 4, 1));
    REQUIRE(wal.flush().ok());
  }
  // 12 entries > 10 after the 3rd and the 6th batch.
  REQUIRE(rolled.size() == 2);
  CHECK(rolled[0].writers[0].first == index_t{1});
  CHECK(rolled[0].writers[0].last == index_t{12});
  CHECK(rolled[1].path == dir / "wal/0000000000000002.wal");
  CHECK(rolled[1].writers[0].first == index_t{13});
  CHECK(rolled[1].writers[0].last == index_t{24});
  CHECK(wal.stats().rollovers == 2);
  auto rec = recover_all(config_in(dir));
  CHECK(rec.entries["w"] == make_entries(1, 28, 1));
  CHECK(rec.files.size() == 3);
}

TEST_CASE("wal writer: overwrites are flagged and honoured by recovery", "[wal][writer]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_max_entries = 16;
  {
    wal_writer wal{c};
    wal.queue("w", make_entries(1, 10, 1));
    wal.queue("x", make_entries(1, 3, 1));
    REQUIRE(wal.flush().ok());
    // Overwrite inside the same batch and across batches.
    wal.queue("w", make_entries(6, 8, 2));
    wal.queue("x", make_entries(4, 5, 1));
    wal.queue("x", make_entries(2, 2, 3));
    auto r = wal.flush();
    REQUIRE(r.ok());
    CHECK(written_map(r) == std::map<std::string, index_t>{{"w", index_t{8}}, {"x", index_t{2}}});
    // The file rolled (19 entries > 16): overwrite entries of the previous file.
    wal.queue("w", make_entries(3, 4, 3));
    REQUIRE(wal.flush().ok());
  }
  auto counts = record_counts(dir / "wal/0000000000000001.wal");
  CHECK(counts[{"w", 6}] == 2);
  auto rec = recover_all(c);
  CHECK(rec.files.size() == 2);
  auto expected_w = make_entries(1, 2, 1);
  for (auto& e : make_entries(3, 4, 3))
    expected_w.push_back(e);
  CHECK(rec.entries["w"] == expected_w);
  auto expected_x = make_entries(1, 1, 1);
  expected_x.push_back(make_entries(2, 2, 3)[0]);
  CHECK(rec.entries["x"] == expected_x);
}

TEST_CASE("wal writer: a fresh log after a snapshot drops older entries on recovery", "[wal][writer]") {
  temp_dir dir;
  {
    wal_writer wal{config_in(dir)};
    wal.queue("w", make_entries(1, 5, 1));
    REQUIRE(wal.flush().ok());
    CHECK(wal.queue("w", make_entries(100, 102, 2), true).status == queue_status::queued);
    REQUIRE(wal.flush().ok());
  }
  auto rec = recover_all(config_in(dir));
  CHECK(rec.entries["w"] == make_entries(100, 102, 2));
}

TEST_CASE("wal writer: a writer's new log resets its sequence, also one learned at recovery or out of sequence", "[wal][writer][f1]") {
  temp_dir dir;
  {
    wal_writer wal{config_in(dir)};
    wal.queue("w", make_entries(1, 20, 1));
    REQUIRE(wal.flush().ok());
  }
  wal_writer wal{config_in(dir)};
  wal_recovery rec;
  REQUIRE(wal.recover(rec));
  REQUIRE(wal.start());
  // Unflagged, 1001 is a gap after the recovered 20 ...
  CHECK(wal.queue("w", make_entries(1001, 1001, 3)).status == queue_status::resend);
  // ... flagged as a new log it is accepted even while out of sequence, and the
  // writer's sequence continues from it.
  CHECK(wal.queue("w", make_entries(1001, 1001, 3), true).status == queue_status::queued);
  CHECK(wal.queue("w", make_entries(1002, 1003, 3)).status == queue_status::queued);
  REQUIRE(wal.flush().ok());
}

TEST_CASE("wal writer: a gap asks for a resend and drops writes until it is filled", "[wal][writer]") {
  temp_dir dir;
  {
    wal_writer wal{config_in(dir)};
    wal.queue("w", make_entries(1, 5, 1));
    auto gap = wal.queue("w", make_entries(8, 9, 1));
    CHECK(gap.status == queue_status::resend);
    CHECK(gap.resend_from == index_t{6});
    auto dropped = wal.queue("w", make_entries(10, 10, 1));
    CHECK(dropped.status == queue_status::dropped);
    CHECK(dropped.resend_from == index_t{6});
    CHECK(wal.queue("other", make_entries(50, 50, 1)).status == queue_status::queued);
    CHECK(wal.queue("w", make_entries(6, 10, 1)).status == queue_status::queued);
    auto r = wal.flush();
    REQUIRE(r.ok());
    CHECK(written_map(r) == std::map<std::string, index_t>{{"other", index_t{50}}, {"w", index_t{10}}});
    auto rec = recover_all(config_in(dir));
    CHECK(rec.entries["w"] == make_entries(1, 10, 1));
  }  // the writer goes (and unlocks the directory), as in a restart
  // After recovery the writer knows every writer's last index.
  wal_writer restarted{config_in(dir)};
  wal_recovery again;
  REQUIRE(restarted.recover(again));
  CHECK(restarted.queue("w", make_entries(12, 12, 1)).resend_from == index_t{11});
  std::vector<log_entry> not_contiguous = {make_entries(11, 11, 1)[0], make_entries(13, 13, 1)[0]};
  CHECK_THROWS_AS(restarted.queue("w", not_contiguous), std::invalid_argument);
}

TEST_CASE("wal writer: I/O failures acknowledge nothing and heal once the fault clears", "[wal][writer]") {
  temp_dir dir;
  counting_fs cfs;
  wal_writer wal{config_in(dir, &cfs.fs)};
  wal.queue("a", make_entries(1, 3, 1));
  REQUIRE(wal.flush().ok());

  SECTION("ENOSPC on write") { cfs.fail_write_with = ENOSPC; }
  SECTION("EIO on sync") { cfs.fail_sync_with = EIO; }
  SECTION("EIO on sync, and the truncate back fails too") {
    cfs.fail_sync_with = EIO;
    cfs.fail_truncate_with = EIO;
  }
  wal.queue("a", make_entries(4, 6, 1));
  wal.queue("b", make_entries(1, 2, 1));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto failed = wal.flush();
    REQUIRE(!failed.ok());
    CHECK(failed.written.empty());
    CHECK(failed.failed_writers == std::vector<std::string>{"a", "b"});
    CHECK((failed.error->code == ENOSPC || failed.error->code == EIO));
    CHECK(failed.error->path == wal.current_path());
  }
  wal.queue("b", make_entries(3, 3, 1));  // queued while failing: part of the retry
  cfs.fail_write_with = cfs.fail_sync_with = cfs.fail_truncate_with = 0;
  auto healed = wal.flush();
  REQUIRE(healed.ok());
  CHECK(written_map(healed) == std::map<std::string, index_t>{{"a", index_t{6}}, {"b", index_t{3}}});
  CHECK(wal.stats().failed_flushes == 2);

  // Each entry is in the file exactly once: failed attempts left nothing behind.
  for (const auto& [key, count] : record_counts(wal.current_path()))
    CHECK(count == 1);
  auto rec = recover_all(config_in(dir));
  CHECK(rec.entries["a"] == make_entries(1, 6, 1));
  CHECK(rec.entries["b"] == make_entries(1, 3, 1));
  CHECK(rec.torn_tails.empty());
}

TEST_CASE("wal writer: a failure to create the first file is reported and retried", "[wal][writer]") {
  temp_dir dir;
  faulty_file_system fs{file_system::posix()};
  fs.set_rule([](std::string_view op, const std::string&) { return op == "open" ? ENOSPC : 0; });
  wal_writer wal{config_in(dir, &fs)};
  wal.queue("a", make_entries(1, 2, 1));
  auto failed = wal.flush();
  REQUIRE(!failed.ok());
  CHECK(failed.failed_writers == std::vector<std::string>{"a"});
  fs.clear();
  REQUIRE(wal.flush().ok());
  CHECK(recover_all(config_in(dir)).entries["a"] == make_entries(1, 2, 1));
}

TEST_CASE("wal writer: o_sync strategy, and its fallback when O_DSYNC is refused", "[wal][writer]") {
  temp_dir dir;
  counting_fs cfs;
  auto c = config_in(dir, &cfs.fs);
  c.wal_write_strategy = write_strategy::o_sync;
  std::vector<std::string> notices;
  c.on_notice = [&](std::string_view text) { notices.emplace_back(text); };
  SECTION("O_DSYNC accepted: no separate syncs") {
    wal_writer wal{c};
    wal.queue("a", make_entries(1, 5, 1));
    REQUIRE(wal.flush().ok());
    CHECK(wal.effective_write_strategy() == write_strategy::o_sync);
    CHECK(cfs.wal_syncs == 0);
    CHECK(notices.empty());
  }
  SECTION("O_DSYNC refused with EINVAL: write + fdatasync") {
    cfs.fs.set_rule([&](std::string_view op, const std::string& path) {
      if (op == "sync" && path.ends_with(".wal"))
        ++cfs.wal_syncs;
      return op == "open_dsync" ? EINVAL : 0;
    });
    wal_writer wal{c};
    wal.queue("a", make_entries(1, 5, 1));
    REQUIRE(wal.flush().ok());
    CHECK(wal.effective_write_strategy() == write_strategy::default_strategy);
    CHECK(cfs.wal_syncs == 1);
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].find("falling back") != std::string::npos);
  }
  CHECK(recover_all(config_in(dir)).entries["a"] == make_entries(1, 5, 1));
}

TEST_CASE("wal writer: batch limit and start order", "[wal][writer]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_max_batch_size = 4;
  wal_writer wal{c};
  wal.queue("a", make_entries(1, 3, 1));
  CHECK(!wal.batch_full());
  wal.queue("b", make_entries(1, 1, 1));
  CHECK(wal.batch_full());
  REQUIRE(wal.flush().ok());
  CHECK(!wal.batch_full());
  CHECK(wal.pending_entries() == 0);
  wal_recovery rec;
  auto rc = wal.recover(rec);
  REQUIRE(!rc);
  CHECK(rc.error().reason == "wal recovery must run before the writer starts");
}

TEST_CASE("wal writer: checksums off still round trip", "[wal][writer]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_compute_checksums = false;
  c.wal_sync_method = sync_method::none;
  wal_writer wal{c};
  wal.queue("a", make_entries(1, 50, 1, 30));
  REQUIRE(wal.flush().ok());
  CHECK(wal.stats().syncs == 0);
  CHECK(recover_all(config_in(dir)).entries["a"] == make_entries(1, 50, 1, 30));
}

TEST_CASE("wal recovery: the last file's torn tail is cut off, numbering continues", "[wal][recovery]") {
  temp_dir dir;
  std::string first_file;
  {
    wal_writer wal{config_in(dir)};
    wal.queue("a", make_entries(1, 4, 1, 10));
    REQUIRE(wal.flush().ok());
    first_file = wal.current_path();
  }
  auto bytes = read_bytes(first_file);
  const size_t good = bytes.size();
  auto extra = make_entries(5, 5, 1, 10);
  std::vector<char> record;
  wal_format::append_entry(record, 0, extra[0], false, true);
  bytes.insert(bytes.end(), record.begin(), record.begin() + 20);  // a torn write
  write_bytes(first_file, bytes);

  wal_writer wal{config_in(dir)};
  wal_recovery rec;
  REQUIRE(wal.recover(rec));
  CHECK(rec.entries["a"] == make_entries(1, 4, 1, 10));
  REQUIRE(rec.torn_tails.size() == 1);
  CHECK(rec.torn_tails[0] == std::make_pair(first_file, uint64_t{good}));
  CHECK(read_bytes(first_file).size() == good);
  REQUIRE(wal.start());
  CHECK(wal.current_path() == dir / "wal/0000000000000002.wal");
  CHECK(wal.queue("a", make_entries(6, 6, 1)).resend_from == index_t{5});
  wal.queue("a", make_entries(5, 6, 1, 10));
  REQUIRE(wal.flush().ok());
  CHECK(recover_all(config_in(dir)).entries["a"] == make_entries(1, 6, 1, 10));
}

TEST_CASE("wal recovery: a corrupt record before the end refuses to recover", "[wal][recovery]") {
  temp_dir dir;
  std::string path;
  {
    wal_writer wal{config_in(dir)};
    for (uint64_t i = 1; i <= 3; ++i) {
      wal.queue("a", make_entries(i, i, 1, 10));
      REQUIRE(wal.flush().ok());
    }
    path = wal.current_path();
  }
  auto counts_before = record_counts(path);
  REQUIRE(counts_before.size() == 3);
  auto bytes = read_bytes(path);
  const uint64_t second = record_offsets(path)[1];
  bytes[second + 40] ^= 0x10;
  write_bytes(path, bytes);
  wal_writer wal{config_in(dir)};
  wal_recovery rec;
  auto rc = wal.recover(rec);
  REQUIRE(!rc);
  CHECK(rc.error().path == path);
  CHECK(rc.error().offset == second);
  CHECK(read_bytes(path).size() == bytes.size());  // nothing truncated
}

// F9: a batch is one write and one sync. If the power goes before the sync, writeback may
// have reached the disk out of order: the batch's first page reads as zeros while its later
// pages hold records. Nothing of that batch was acknowledged, so it is a torn tail.
TEST_CASE("wal recovery: a torn last batch whose first page reads as zeros is cut off", "[wal][recovery][f9]") {
  temp_dir dir;
  std::string path;
  uint64_t last_batch_at = 0;
  {
    wal_writer wal{config_in(dir)};
    wal.queue("a", make_entries(1, 3, 1, 10));
    REQUIRE(wal.flush().ok());
    last_batch_at = read_bytes(wal.current_path()).size();
    wal.queue("a", make_entries(4, 40, 1, 300));  // about 12 KiB: several pages
    REQUIRE(wal.flush().ok());
    path = wal.current_path();
  }
  auto bytes = read_bytes(path);
  REQUIRE(bytes.size() > last_batch_at + 8192);
  // Valid data ends where the damage starts; what follows in the same batch goes with it.
  uint64_t valid_end = last_batch_at;
  size_t entries_kept = 3;
  SECTION("the first page of the last batch is zeros") {
    std::fill(bytes.begin() + static_cast<long>(last_batch_at),
              bytes.begin() + static_cast<long>(last_batch_at + 4096), 0);
  }
  SECTION("one record in the middle of the last batch is damaged") {
    valid_end = record_offsets(path)[20];
    entries_kept = 20;
    bytes[valid_end + 50] ^= 0x01;
  }
  write_bytes(path, bytes);
  wal_writer wal{config_in(dir)};
  wal_recovery rec;
  auto rc = wal.recover(rec);
  INFO((rc ? std::string() : rc.error().message()));
  REQUIRE(rc);
  REQUIRE(rec.entries["a"].size() == entries_kept);
  CHECK(rec.entries["a"].back().index == index_t{entries_kept});
  REQUIRE(rec.torn_tails.size() == 1);
  CHECK(rec.torn_tails[0] == std::make_pair(path, valid_end));
  CHECK(read_bytes(path).size() == valid_end);
}

TEST_CASE("wal recovery: damage with a later batch behind it is an error, even if zeros", "[wal][recovery][f9]") {
  temp_dir dir;
  std::string path;
  std::vector<uint64_t> batch_ends;
  {
    wal_writer wal{config_in(dir)};
    for (uint64_t i = 0; i < 3; ++i) {
      wal.queue("a", make_entries(i * 10 + 1, i * 10 + 10, 1, 300));
      REQUIRE(wal.flush().ok());
      batch_ends.push_back(read_bytes(wal.current_path()).size());
    }
    path = wal.current_path();
  }
  auto bytes = read_bytes(path);
  // The whole second batch reads as zeros: acknowledged data, with the third batch after it.
  std::fill(bytes.begin() + static_cast<long>(batch_ends[0]),
            bytes.begin() + static_cast<long>(batch_ends[1]), 0);
  write_bytes(path, bytes);
  wal_writer wal{config_in(dir)};
  wal_recovery rec;
  auto rc = wal.recover(rec);
  REQUIRE(!rc);
  CHECK(rc.error().path == path);
  CHECK(rc.error().offset == batch_ends[0]);
  CHECK(rc.error().message().find(path + ": ") == 0);
  CHECK(read_bytes(path).size() == bytes.size());  // nothing truncated
}

// F9: the writer rolls over only after a synced batch, so a closed file never ends torn;
// a damaged end there is damage to acknowledged entries and must not be dropped quietly.
TEST_CASE("wal recovery: a torn tail in a closed (rolled-over) file is an error", "[wal][recovery][f9]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_max_entries = 3;
  std::vector<rollover_info> rolled;
  {
    wal_writer wal{c, [&](rollover_info info) { rolled.push_back(std::move(info)); }};
    wal.queue("a", make_entries(1, 4, 1, 10));
    REQUIRE(wal.flush().ok());
    wal.queue("a", make_entries(5, 6, 1, 10));
    REQUIRE(wal.flush().ok());
  }
  REQUIRE(rolled.size() == 1);
  const std::string closed = rolled[0].path;
  auto bytes = read_bytes(closed);
  bytes.resize(bytes.size() - 5);
  write_bytes(closed, bytes);
  wal_writer wal{c};
  wal_recovery rec;
  auto rc = wal.recover(rec);
  REQUIRE(!rc);
  CHECK(rc.error().path == closed);
  CHECK(rc.error().message().find("closed") != std::string::npos);
  CHECK(read_bytes(closed).size() == bytes.size());
}

TEST_CASE("wal writer: recovery without collecting entries learns the same last indexes", "[wal][writer]") {
  temp_dir dir;
  {
    wal_writer wal{config_in(dir)};
    wal.queue("w", make_entries(1, 10, 1));
    wal.queue("x", make_entries(1, 3, 1));
    REQUIRE(wal.flush().ok());
    wal.queue("w", make_entries(6, 8, 2));  // overwrite: w ends at 8
    REQUIRE(wal.flush().ok());
  }
  auto full = recover_all(config_in(dir));
  wal_writer light{config_in(dir)};
  wal_recovery rec;
  REQUIRE(light.recover(rec, false));
  CHECK(rec.entries.empty());
  CHECK(rec.files.size() == full.files.size());
  REQUIRE(full.entries["w"].back().index == index_t{8});
  // Without the entries it still knows each writer's last index (gaps ask for a resend).
  CHECK(light.queue("w", make_entries(10, 10, 2)).resend_from == index_t{9});
  CHECK(light.queue("x", make_entries(5, 5, 1)).resend_from == index_t{4});
  CHECK(light.queue("x", make_entries(4, 4, 1)).status == queue_status::queued);
}

TEST_CASE("wal writer: a second writer on a directory in use is refused until the first goes", "[wal][writer]") {
  temp_dir dir;
  {
    wal_writer first{config_in(dir)};
    wal_recovery rec;
    REQUIRE(first.recover(rec));
    REQUIRE(first.start());
    first.queue("a", make_entries(1, 2, 1));
    REQUIRE(first.flush().ok());

    wal_writer second{config_in(dir)};
    wal_recovery second_rec;
    auto recovered = second.recover(second_rec);
    REQUIRE(!recovered);
    CHECK(recovered.error().held_elsewhere);
    auto started = second.start();
    REQUIRE(!started);
    CHECK(directory_lock::is_held_elsewhere(started.error()));
    // The refused writer moved nothing: the first one still writes to its file.
    first.queue("a", make_entries(3, 3, 1));
    REQUIRE(first.flush().ok());
  }
  wal_writer after{config_in(dir)};
  wal_recovery rec;
  REQUIRE(after.recover(rec));
  CHECK(rec.entries["a"] == make_entries(1, 3, 1));
}

TEST_CASE("wal writer: a batch is full at wal_max_batch_bytes as well as at wal_max_batch_size", "[wal][writer]") {
  temp_dir dir;
  auto c = config_in(dir);
  c.wal_max_batch_bytes = 1000;
  wal_writer wal{c};
  wal.queue("a", make_entries(1, 1, 1, 400));
  CHECK(!wal.batch_full());
  wal.queue("a", make_entries(2, 2, 1, 400));
  CHECK(!wal.batch_full());
  wal.queue("a", make_entries(3, 3, 1, 400));  // past 1000 bytes with the record headers
  CHECK(wal.batch_full());
  REQUIRE(wal.flush().ok());
  CHECK(!wal.batch_full());
}
