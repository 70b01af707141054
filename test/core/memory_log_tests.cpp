// ra::memory_log: readable-at-once appends, explicit durability, crash recovery, snapshots.

#include <catch2/catch.hpp>

#include "libra/memory_log.hpp"

using ra::index_t;
using ra::log_entry;
using ra::memory_log;
using ra::term_t;

namespace {

log_entry entry(uint64_t index, uint64_t term, std::string_view payload = "") {
  log_entry e;
  e.index = index_t{index};
  e.term = term_t{term};
  e.payload = ra::shared_bytes::copy_of(payload.empty() ? std::to_string(index) + "/" + std::to_string(term)
                                                       : std::string(payload));
  return e;
}

/// Entries [from, to] all in `term`.
std::vector<log_entry> entries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<log_entry> out;
  for (uint64_t i = from; i <= to; ++i)
    out.push_back(entry(i, term));
  return out;
}

std::vector<uint64_t> terms_of(const memory_log& log) {
  std::vector<uint64_t> out;
  for (const auto& e : log.entries())
    out.push_back(e.term.value);
  return out;
}

ra::stored_snapshot snapshot_at(uint64_t index, uint64_t term, std::string_view data = "state") {
  ra::stored_snapshot s;
  s.meta.index = index_t{index};
  s.meta.term = term_t{term};
  s.data = ra::shared_bytes::copy_of(data);
  return s;
}

ra::index_term it(uint64_t i, uint64_t t) { return {index_t{i}, term_t{t}}; }

}  // namespace

TEST_CASE("an empty log answers for index 0", "[memory_log]") {
  memory_log log;
  CHECK(log.last_index() == index_t{0});
  CHECK(log.first_index() == index_t{1});
  CHECK(log.last_written() == it(0, 0));
  CHECK(log.term_at(index_t{0}) == term_t{0});
  CHECK_FALSE(log.term_at(index_t{1}).has_value());
  CHECK_FALSE(log.snapshot().has_value());
  CHECK(log.unsynced_from() == index_t{1});
  CHECK_FALSE(log.sync_all());
}

TEST_CASE("appended entries are readable at once but durable only after sync", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 3, 1));
  CHECK(log.last_index() == index_t{3});
  CHECK(log.term_at(index_t{2}) == term_t{1});
  CHECK(log.last_written() == it(0, 0));
  CHECK(log.unsynced_from() == index_t{1});

  std::vector<log_entry> out;
  REQUIRE(log.read(index_t{2}, index_t{10}, 100, out));
  REQUIRE(out.size() == 2);
  CHECK(out[0] == entry(2, 1));
  CHECK(out[1] == entry(3, 1));

  CHECK(log.sync(index_t{2}));
  CHECK(log.last_written() == it(2, 1));
  CHECK(log.unsynced_from() == index_t{3});
  CHECK_FALSE(log.sync(index_t{1}));  // never moves backwards
  CHECK(log.sync(index_t{99}));       // capped at last_index
  CHECK(log.last_written() == it(3, 1));
}

TEST_CASE("read honours max_count and the bounds", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 10, 1));
  std::vector<log_entry> out;
  REQUIRE(log.read(index_t{3}, index_t{9}, 2, out));
  REQUIRE(out.size() == 2);
  CHECK(out[0].index == index_t{3});
  CHECK(out[1].index == index_t{4});
  out.clear();
  auto before_first = log.read(index_t{0}, index_t{1}, 10, out);  // index 0 is never an entry
  REQUIRE_FALSE(before_first);
  CHECK(before_first.error().what == ra::log_error::kind::compacted);
  CHECK(out.empty());
  CHECK(log.read(index_t{11}, index_t{20}, 10, out));  // past the end: nothing, no error
  CHECK(out.empty());
}

TEST_CASE("a crash loses un-synced appends", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 5, 1));
  log.sync(index_t{3});
  log.crash();
  CHECK(log.last_index() == index_t{3});
  CHECK(log.last_written() == it(3, 1));
  CHECK(log.unsynced_from() == index_t{4});
  CHECK_FALSE(log.term_at(index_t{4}).has_value());
  // And the log keeps working afterwards.
  log.append(entries(4, 4, 2));
  log.sync_all();
  log.crash();
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 1, 1, 2});
}

TEST_CASE("appending below the end truncates the divergent suffix", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 5, 1));
  log.sync_all();
  log.append(entries(3, 4, 2));
  CHECK(log.last_index() == index_t{4});
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 1, 2, 2});
  // The durable point drops below the overwrite.
  CHECK(log.last_written() == it(2, 1));
  CHECK(log.unsynced_from() == index_t{3});
  CHECK(log.sync_all());
  CHECK(log.last_written() == it(4, 2));
  log.crash();
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 1, 2, 2});
  CHECK(log.last_index() == index_t{4});
}

TEST_CASE("an un-synced overwrite is undone by a crash", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 5, 1));
  log.sync_all();
  log.append(entries(3, 3, 2));
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 1, 2});
  log.crash();
  // The old durable entries come back, as a real write-ahead log would replay them.
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 1, 1, 1, 1});
  CHECK(log.last_written() == it(5, 1));
}

TEST_CASE("a partial sync of an overwrite truncates the durable image at that point", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 6, 1));
  log.sync_all();
  log.append(entries(3, 5, 2));
  CHECK(log.unsynced_from() == index_t{3});
  CHECK(log.sync(index_t{3}));
  CHECK(log.last_written() == it(3, 2));
  log.crash();
  // The write-ahead log holds old 1..6 then the overwrite at 3: replay ends at 3.
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 1, 2});
}

TEST_CASE("appends must be contiguous", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 2, 1));
  CHECK_THROWS(log.append(entries(4, 5, 1)));
  std::vector<log_entry> holes{entry(3, 1), entry(5, 1)};
  CHECK_THROWS(log.append(holes));
}

TEST_CASE("write_snapshot releases entries up to its index", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 10, 1));
  log.sync(index_t{8});
  log.write_snapshot(snapshot_at(5, 1));
  CHECK(log.first_index() == index_t{6});
  CHECK(log.last_index() == index_t{10});
  CHECK(log.term_at(index_t{5}) == term_t{1});  // the snapshot point answers
  CHECK_FALSE(log.term_at(index_t{4}).has_value());
  CHECK(log.term_at(index_t{0}) == term_t{0});
  CHECK(log.last_written() == it(8, 1));
  std::vector<log_entry> out;
  // Below the snapshot: compacted (a leader sends the snapshot), not unreadable.
  auto released = log.read(index_t{1}, index_t{7}, 10, out);
  REQUIRE_FALSE(released);
  CHECK(released.error().what == ra::log_error::kind::compacted);
  CHECK(out.empty());
  REQUIRE(log.read(index_t{6}, index_t{7}, 10, out));
  REQUIRE(out.size() == 2);
  CHECK(out[0].index == index_t{6});
  REQUIRE(log.snapshot());
  CHECK(log.load_snapshot_state()->view() == "state");

  log.crash();  // the snapshot is durable; synced entries survive, 9..10 do not
  CHECK(log.first_index() == index_t{6});
  CHECK(log.last_index() == index_t{8});
  REQUIRE(log.snapshot());
  CHECK(log.snapshot()->meta.index == index_t{5});
}

TEST_CASE("write_snapshot above the durable point makes the snapshot point durable", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 10, 1));
  log.sync(index_t{2});
  log.write_snapshot(snapshot_at(6, 1));
  CHECK(log.last_written() == it(6, 1));
  CHECK(log.unsynced_from() == index_t{7});
  CHECK(log.last_index() == index_t{10});
  log.crash();
  CHECK(log.last_index() == index_t{6});
  CHECK(log.entries().empty());
  CHECK(log.term_at(index_t{6}) == term_t{1});
}

TEST_CASE("a snapshot above an un-synced overwrite leaves no stale entries to resurrect", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 10, 1));
  log.sync_all();
  log.append(entries(6, 8, 2));  // overwrite, not synced
  log.write_snapshot(snapshot_at(7, 2));
  CHECK(log.last_written() == it(7, 2));
  log.crash();
  // Old 8..10 (term 1) must not reappear after a term-2 snapshot point.
  CHECK(log.last_index() == index_t{7});
  CHECK(log.entries().empty());
}

TEST_CASE("sync after a snapshot keeps indexes aligned", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 4, 1));
  log.sync_all();
  log.write_snapshot(snapshot_at(3, 1));
  log.append(entries(5, 7, 2));
  CHECK(log.sync(index_t{6}));
  log.crash();
  CHECK(log.first_index() == index_t{4});
  CHECK(terms_of(log) == std::vector<uint64_t>{1, 2, 2});
  CHECK(log.last_written() == it(6, 2));
}

TEST_CASE("install_snapshot keeps a matching suffix", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 8, 3));
  log.sync(index_t{4});
  REQUIRE(log.install_snapshot(snapshot_at(6, 3)));
  CHECK(log.first_index() == index_t{7});
  CHECK(log.last_index() == index_t{8});
  CHECK(log.term_at(index_t{6}) == term_t{3});
  CHECK(log.last_written() == it(6, 3));
  log.sync_all();
  log.crash();
  CHECK(log.last_index() == index_t{8});
  CHECK(log.last_written() == it(8, 3));
}

TEST_CASE("install_snapshot replaces a log that does not match", "[memory_log]") {
  memory_log log;
  log.append(entries(1, 8, 2));
  log.sync_all();
  SECTION("different term at the snapshot index") {
    REQUIRE(log.install_snapshot(snapshot_at(5, 3)));
  }
  SECTION("snapshot beyond the log") {
    REQUIRE(log.install_snapshot(snapshot_at(12, 3)));
    CHECK(log.first_index() == index_t{13});
  }
  CHECK(log.entries().empty());
  CHECK(log.last_index() == log.snapshot()->meta.index);
  CHECK(log.last_written().index == log.snapshot()->meta.index);
  CHECK(log.last_written().term == term_t{3});
  log.crash();
  CHECK(log.entries().empty());
  CHECK(log.last_index() == log.snapshot()->meta.index);
}

TEST_CASE("appends at or below the snapshot are skipped", "[memory_log]") {
  memory_log log;
  REQUIRE(log.install_snapshot(snapshot_at(5, 2)));
  log.append(entries(4, 7, 2));
  CHECK(log.first_index() == index_t{6});
  CHECK(log.last_index() == index_t{7});
  CHECK(log.term_at(index_t{5}) == term_t{2});
}

TEST_CASE("re-installing the current snapshot keeps the log", "[memory_log]") {
  memory_log log;
  REQUIRE(log.install_snapshot(snapshot_at(5, 2)));
  log.append(entries(6, 7, 2));
  log.sync_all();
  REQUIRE(log.install_snapshot(snapshot_at(5, 2)));
  CHECK(log.last_index() == index_t{7});
  CHECK(log.last_written() == it(7, 2));
}

TEST_CASE("a snapshot is received chunk by chunk and changes nothing until complete", "[memory_log][snapshot]") {
  memory_log log;
  log.append(entries(1, 8, 2));
  log.sync_all();
  REQUIRE(log.begin_snapshot_receipt(snapshot_at(12, 3).meta));
  REQUIRE(log.accept_snapshot_chunk(std::string_view{"sta"}));
  REQUIRE(log.accept_snapshot_chunk(std::string_view{"te"}));
  CHECK_FALSE(log.snapshot());
  CHECK(log.last_index() == index_t{8});
  SECTION("complete installs it") {
    REQUIRE(log.complete_snapshot_receipt());
    REQUIRE(log.snapshot());
    CHECK(log.snapshot()->meta.index == index_t{12});
    CHECK(log.snapshot()->state_size == 5);
    CHECK(log.load_snapshot_state()->view() == "state");
    CHECK(log.last_index() == index_t{12});
  }
  SECTION("abort forgets it") {
    log.abort_snapshot_receipt();
    CHECK_FALSE(log.receiving_snapshot());
    CHECK_FALSE(log.snapshot());
    CHECK(log.last_index() == index_t{8});
  }
  SECTION("a crash forgets it") {
    log.crash();
    CHECK_FALSE(log.receiving_snapshot());
    CHECK(log.last_index() == index_t{8});
  }
}

TEST_CASE("snapshot chunks are cut by chunk size, and a replaced snapshot is still read while its transfer runs", "[memory_log][snapshot]") {
  memory_log log;
  log.append(entries(1, 8, 2));
  log.sync_all();
  auto older = snapshot_at(5, 2, "0123456789");
  log.write_snapshot(older);
  CHECK(log.snapshot()->state_size == 10);
  CHECK(ra::snapshot_chunk_count(10, 4) == 3);
  CHECK(log.read_snapshot_chunk(older.meta, 1, 4)->view() == "0123");
  log.write_snapshot(snapshot_at(7, 2, "newer"));
  CHECK(log.read_snapshot_chunk(older.meta, 3, 4)->view() == "89");
  auto past_end = log.read_snapshot_chunk(older.meta, 4, 4);
  REQUIRE_FALSE(past_end);
  CHECK(past_end.error().what == ra::log_error::kind::unreadable);
  // Once the newer one is being read, the older one is gone.
  REQUIRE(log.read_snapshot_chunk(log.snapshot()->meta, 1, 4));
  auto gone = log.read_snapshot_chunk(older.meta, 1, 4);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().what == ra::log_error::kind::compacted);
}
