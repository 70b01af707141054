// Segment files, the reader cache and a server's segment set, on the real file system
// (in a fresh temporary directory per test).

#include <catch2/catch.hpp>

#include "test/storage/storage_test_util.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "segments/segment_cache.hpp"
#include "segments/segment_file.hpp"
#include "segments/segment_set.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::temp_dir;
using ra::storage::test::flip_byte;
namespace fs = std::filesystem;

namespace {

// Mirrors the documented layout (docs/storage-format.md), to corrupt chosen bytes.
constexpr uint64_t header_bytes = 16;
constexpr uint64_t slot_bytes = 36;
constexpr uint64_t entry_prefix_bytes = 9;


log_entry make_entry(uint64_t index, uint64_t term, size_t payload_size = 0, entry_kind kind = entry_kind::command) {
  std::vector<char> payload(payload_size);
  for (size_t k = 0; k < payload_size; ++k) payload[k] = static_cast<char>((index * 31 + k) & 0xff);
  return log_entry{index_t{index}, term_t{term}, kind, static_cast<int64_t>(index * 1000),
                   shared_bytes{std::move(payload)}};
}

std::vector<log_entry> make_entries(uint64_t first, uint64_t last, uint64_t term = 1, size_t payload_size = 16) {
  std::vector<log_entry> out;
  for (uint64_t i = first; i <= last; ++i) out.push_back(make_entry(i, term, payload_size));
  return out;
}

void write_file(const std::string& path, const std::vector<log_entry>& entries, segment_config config = {}) {
  auto w = segment_writer_file::create(file_system::posix(), path, config);
  REQUIRE(w);
  for (auto& e : entries) REQUIRE(*w->append(e) == segment_writer_file::append_result::appended);
  REQUIRE(w->close());
}


/// Forwards to the real file system, counting the files open (now and at peak) and
/// the preads, so tests can see what the cache and the reader really do.
class counting_file_system final : public file_system {
 public:
  int open_now = 0;
  int open_peak = 0;
  int preads = 0;

  io_result<std::unique_ptr<file>> open(const std::string& path, open_options opts) override {
    auto f = file_system::posix().open(path, opts);
    if (!f) return f.error();
    open_peak = std::max(open_peak, ++open_now);
    return std::unique_ptr<file>(std::make_unique<counted_file>(std::move(*f), *this));
  }
  io_status rename(const std::string& a, const std::string& b) override { return file_system::posix().rename(a, b); }
  io_status remove(const std::string& p) override { return file_system::posix().remove(p); }
  io_status create_directories(const std::string& p) override { return file_system::posix().create_directories(p); }
  io_status sync_directory(const std::string& p) override { return file_system::posix().sync_directory(p); }
  io_result<std::vector<std::string>> list(const std::string& d) override { return file_system::posix().list(d); }
  bool exists(const std::string& p) override { return file_system::posix().exists(p); }

 private:
  class counted_file final : public file {
   public:
    counted_file(std::unique_ptr<file> inner, counting_file_system& owner) : inner_(std::move(inner)), owner_(owner) {}
    ~counted_file() override { --owner_.open_now; }
    const std::string& path() const override { return inner_->path(); }
    io_status write(std::span<const char> d) override { return inner_->write(d); }
    io_status writev(std::span<const iovec> b) override { return inner_->writev(b); }
    io_status pwrite(std::span<const char> d, uint64_t o) override { return inner_->pwrite(d, o); }
    io_result<size_t> pread(std::span<char> out, uint64_t o) const override {
      ++owner_.preads;
      return inner_->pread(out, o);
    }
    io_status sync(sync_method m) override { return inner_->sync(m); }
    io_result<uint64_t> size() const override { return inner_->size(); }
    io_status truncate(uint64_t s) override { return inner_->truncate(s); }

   private:
    std::unique_ptr<file> inner_;
    counting_file_system& owner_;
  };
};

}  // namespace

TEST_CASE("segment: entries round-trip with kind, time, term and payload", "[segment]") {
  temp_dir dir;
  bool checksums = GENERATE(true, false);
  segment_config config;
  config.segment_compute_checksums = checksums;
  std::vector<log_entry> entries;
  for (uint64_t i = 1; i <= 50; ++i)
    entries.push_back(make_entry(i, 1 + i / 10, i % 7 == 0 ? 0 : i * 13, static_cast<entry_kind>(i % 3)));
  write_file(dir / "1.segment", entries, config);

  auto r = segment_reader::open(file_system::posix(), dir / "1.segment");
  REQUIRE(r);
  REQUIRE(r->range() == index_range{index_t{1}, index_t{50}});
  for (auto& e : entries) {
    auto got = r->read(e.index);
    REQUIRE(got);
    CHECK(*got == e);
    CHECK(r->term_at(e.index) == e.term);
  }
  std::vector<log_entry> out;
  REQUIRE(r->read_range(index_t{10}, index_t{60}, 100, out));
  CHECK(out == std::vector<log_entry>(entries.begin() + 9, entries.end()));
  out.clear();
  REQUIRE(r->read_range(index_t{5}, index_t{50}, 3, out));
  REQUIRE(out.size() == 3);
  CHECK(out.back().index == index_t{7});
  CHECK_FALSE(r->term_at(index_t{51}));
  CHECK_FALSE(r->term_at(index_t{0}));
  auto missing = r->read(index_t{51});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ERANGE);
}

TEST_CASE("segment: any index is read directly, with one pread and no scan", "[segment]") {
  temp_dir dir;
  write_file(dir / "1.segment", make_entries(1000, 1999, 3, 200));
  counting_file_system counting;
  auto r = segment_reader::open(counting, dir / "1.segment");
  REQUIRE(r);
  CHECK(r->term_at(index_t{1500}) == term_t{3});  // from the loaded index: no I/O
  int before = counting.preads;
  for (uint64_t i : {1999u, 1000u, 1500u, 1234u}) {
    auto e = r->read(index_t{i});
    REQUIRE(e);
    CHECK(*e == make_entry(i, 3, 200));
  }
  CHECK(counting.preads - before == 4);
}

TEST_CASE("segment: full by entry count and by data size", "[segment]") {
  temp_dir dir;
  SECTION("count") {
    segment_config config;
    config.segment_max_entries = 10;
    auto w = segment_writer_file::create(file_system::posix(), dir / "1.segment", config);
    REQUIRE(w);
    for (uint64_t i = 1; i <= 10; ++i)
      REQUIRE(*w->append(make_entry(i, 1)) == segment_writer_file::append_result::appended);
    CHECK(*w->append(make_entry(11, 1)) == segment_writer_file::append_result::full);
    REQUIRE(w->close());
    auto r = segment_reader::open(file_system::posix(), dir / "1.segment");
    REQUIRE(r);
    CHECK(r->range() == index_range{index_t{1}, index_t{10}});
  }
  SECTION("size") {
    segment_config config;
    config.segment_max_size_bytes = 1000;
    auto w = segment_writer_file::create(file_system::posix(), dir / "1.segment", config);
    REQUIRE(w);
    // 9 + 100 = 109 bytes each: nine fit in 1000, the tenth would not.
    for (uint64_t i = 1; i <= 9; ++i)
      REQUIRE(*w->append(make_entry(i, 1, 100)) == segment_writer_file::append_result::appended);
    CHECK(*w->append(make_entry(10, 1, 100)) == segment_writer_file::append_result::full);
    CHECK(w->data_bytes() == 9 * (entry_prefix_bytes + 100));
    REQUIRE(w->close());
  }
  SECTION("an entry larger than the limit still gets a file of its own") {
    segment_config config;
    config.segment_max_size_bytes = 100;
    auto made = write_segments(file_system::posix(), dir.path(), make_entries(1, 3, 1, 500), config);
    REQUIRE(made);
    REQUIRE(made->size() == 3);
    CHECK((*made)[2].range == index_range{index_t{3}, index_t{3}});
  }
  SECTION("write_segments fills each file to its limit") {
    segment_config config;
    config.segment_max_entries = 10;
    auto made = write_segments(file_system::posix(), dir.path(), make_entries(1, 25), config);
    REQUIRE(made);
    REQUIRE(*made == std::vector<segment_ref>{{segment_file_name(1), {index_t{1}, index_t{10}}},
                                               {segment_file_name(2), {index_t{11}, index_t{20}}},
                                               {segment_file_name(3), {index_t{21}, index_t{25}}}});
    CHECK(segment_file_name(1) == "0000000000000001.segment");
    auto names = file_system::posix().list(dir.path());
    REQUIRE(names);
    for (auto& name : *names) CHECK_FALSE(name.ends_with(".tmp"));
  }
}

TEST_CASE("segment: an index going backwards in a file replaces the entries from it on", "[segment]") {
  temp_dir dir;
  auto w = segment_writer_file::create(file_system::posix(), dir / "1.segment", {});
  REQUIRE(w);
  for (auto& e : make_entries(1, 10)) REQUIRE(*w->append(e) == segment_writer_file::append_result::appended);
  REQUIRE(*w->append(make_entry(6, 2, 5)) == segment_writer_file::append_result::appended);
  REQUIRE(*w->append(make_entry(7, 2, 5)) == segment_writer_file::append_result::appended);
  CHECK(w->range() == index_range{index_t{1}, index_t{7}});
  CHECK(*w->append(make_entry(9, 2)) == segment_writer_file::append_result::not_contiguous);
  REQUIRE(w->close());

  auto r = segment_reader::open(file_system::posix(), dir / "1.segment");
  REQUIRE(r);
  CHECK(r->range() == index_range{index_t{1}, index_t{7}});
  CHECK(r->term_at(index_t{5}) == term_t{1});
  CHECK(*r->read(index_t{6}) == make_entry(6, 2, 5));
  CHECK(*r->read(index_t{7}) == make_entry(7, 2, 5));
  CHECK_FALSE(r->term_at(index_t{8}));

  // Below the file's first index: the whole earlier content goes.
  write_file(dir / "2.segment", {make_entry(5, 1), make_entry(6, 1), make_entry(3, 4)});
  auto r2 = segment_reader::open(file_system::posix(), dir / "2.segment");
  REQUIRE(r2);
  CHECK(r2->range() == index_range{index_t{3}, index_t{3}});
}

TEST_CASE("segment: a damaged last slot is corruption, not the end of the index", "[segment]") {
  // A segment file is named only once complete and synced: no crash leaves its last slot
  // half written. Real seed 5984: one bit rotted in the last slot of a segment, the
  // reader took it for a torn tail and dropped the entry, the server's log lost index 29
  // and read index 30 in its place.
  temp_dir dir;
  auto path = dir / "1.segment";
  write_file(path, make_entries(1, 5));
  // Slot 4 holds index 5.
  flip_byte(path, header_bytes + 4 * slot_bytes + 3);
  auto r = segment_reader::open(file_system::posix(), path);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == EBADMSG);
  CHECK_THAT(r.error().message(),
             Catch::Contains(path) && Catch::Contains("offset " + std::to_string(header_bytes + 4 * slot_bytes)));

  // Slots never used (zeros) end the index.
  write_file(dir / "3.segment", make_entries(1, 5), segment_config{.segment_max_entries = 8});
  auto three = segment_reader::open(file_system::posix(), dir / "3.segment");
  REQUIRE(three);
  CHECK(three->range() == index_range{index_t{1}, index_t{5}});

  // A header alone (no slot written yet) is an empty segment.
  write_file(dir / "2.segment", {});
  auto empty = segment_reader::open(file_system::posix(), dir / "2.segment");
  REQUIRE(empty);
  CHECK_FALSE(empty->range());
}

TEST_CASE("segment: a flipped data byte fails the read, naming file and offset", "[segment]") {
  temp_dir dir;
  auto path = dir / "1.segment";
  write_file(path, make_entries(1, 5, 1, 16));
  uint64_t data_start = header_bytes + segment_config{}.segment_max_entries * slot_bytes;
  uint64_t entry3 = data_start + 2 * (entry_prefix_bytes + 16);
  flip_byte(path, entry3 + 12);

  auto r = segment_reader::open(file_system::posix(), path);
  REQUIRE(r);  // the index is fine
  CHECK(r->read(index_t{2}));
  auto bad = r->read(index_t{3});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == EBADMSG);
  CHECK_THAT(bad.error().message(), Catch::Contains(path) && Catch::Contains("offset " + std::to_string(entry3)));
  std::vector<log_entry> out;
  CHECK_FALSE(r->read_range(index_t{1}, index_t{5}, 10, out));
}

TEST_CASE("segment: a damaged slot before valid ones is corruption, named by offset", "[segment]") {
  temp_dir dir;
  auto path = dir / "1.segment";
  write_file(path, make_entries(1, 5));
  uint64_t slot2 = header_bytes + 2 * slot_bytes;
  flip_byte(path, slot2 + 9);
  auto r = segment_reader::open(file_system::posix(), path);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == EBADMSG);
  CHECK_THAT(r.error().message(), Catch::Contains(path) && Catch::Contains("offset " + std::to_string(slot2)));
}

TEST_CASE("segment: a damaged header is refused", "[segment]") {
  temp_dir dir;
  auto path = dir / "1.segment";
  write_file(path, make_entries(1, 2));
  flip_byte(path, 9);  // inside the slot count
  auto r = segment_reader::open(file_system::posix(), path);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == EBADMSG);
}

TEST_CASE("segment_cache: never more readers open than its capacity", "[segment]") {
  temp_dir dir;
  segment_config config;
  config.segment_max_entries = 10;
  REQUIRE(write_segments(file_system::posix(), dir.path(), make_entries(1, 100), config));
  counting_file_system counting;
  segment_cache cache{counting, 4};
  for (int round = 0; round < 3; ++round) {
    for (uint64_t n = 1; n <= 10; ++n) {
      auto r = cache.get(dir / segment_file_name(n));
      REQUIRE(r);
      CHECK((*r)->range() == index_range{index_t{n * 10 - 9}, index_t{n * 10}});
      CHECK(counting.open_now <= 4);
    }
  }
  CHECK(counting.open_peak == 4);
  CHECK(cache.open_count() == 4);
  // Recently used readers are kept: these hit the cache and open nothing.
  int peak_opens = counting.open_now;
  REQUIRE(cache.get(dir / segment_file_name(10)));
  REQUIRE(cache.get(dir / segment_file_name(7)));
  CHECK(counting.open_now == peak_opens);
  cache.evict(dir / segment_file_name(10));
  CHECK(counting.open_now == 3);
  cache.clear();
  CHECK(counting.open_now == 0);
}

TEST_CASE("segment_set: finds indexes across files and reads ranges through them", "[segment]") {
  temp_dir dir;
  segment_config config;
  config.segment_max_entries = 10;
  counting_file_system counting;
  auto set = segment_set::open(counting, dir.path(), 2);
  REQUIRE(set);
  CHECK_FALSE(set->range());
  REQUIRE(set->write(make_entries(1, 25), config));
  REQUIRE(set->write(make_entries(26, 40), config));
  CHECK(set->refs().size() == 5);
  CHECK(set->range() == index_range{index_t{1}, index_t{40}});
  CHECK(set->find(index_t{12})->file_name == segment_file_name(2));
  CHECK(set->find(index_t{26})->file_name == segment_file_name(4));
  CHECK_FALSE(set->find(index_t{41}));

  std::vector<log_entry> out;
  REQUIRE(set->read_range(index_t{5}, index_t{100}, 1000, out));
  CHECK(out == make_entries(5, 40));
  out.clear();
  REQUIRE(set->read_range(index_t{8}, index_t{30}, 5, out));
  CHECK(out == make_entries(8, 12));
  CHECK(*set->term_at(index_t{33}) == term_t{1});
  CHECK(*set->read(index_t{40}) == make_entry(40, 1, 16));
  CHECK_FALSE(*set->read(index_t{41}));
  CHECK(counting.open_peak <= 2);

  // A fresh set sees the same files from the directory listing.
  auto reopened = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(reopened);
  CHECK(reopened->refs() == set->refs());
}

TEST_CASE("segment_set: deletes only files entirely at or below the snapshot index", "[segment]") {
  temp_dir dir;
  segment_config config;
  config.segment_max_entries = 10;
  auto set = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(set);
  REQUIRE(set->write(make_entries(1, 30), config));  // [1,10] [11,20] [21,30]

  auto deleted = set->delete_up_to(index_t{15});
  REQUIRE(deleted);
  CHECK(*deleted == std::vector<std::string>{segment_file_name(1)});
  CHECK_FALSE(fs::exists(dir / segment_file_name(1)));
  CHECK(set->range() == index_range{index_t{11}, index_t{30}});
  CHECK(*set->read(index_t{11}));  // entries 11..15 stay: their file holds 16..20 too

  deleted = set->delete_up_to(index_t{20});
  REQUIRE(deleted);
  CHECK(*deleted == std::vector<std::string>{segment_file_name(2)});
  CHECK(*set->delete_up_to(index_t{29}) == std::vector<std::string>{});
  CHECK(set->range() == index_range{index_t{21}, index_t{30}});
  auto reopened = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(reopened);
  CHECK(reopened->refs() == std::vector<segment_ref>{{segment_file_name(3), {index_t{21}, index_t{30}}}});
}

TEST_CASE("segment_set: a newer file overwriting older indexes supersedes them", "[segment]") {
  temp_dir dir;
  segment_config config;
  config.segment_max_entries = 10;
  auto set = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(set);
  REQUIRE(set->write(make_entries(1, 20), config));          // files 1, 2
  REQUIRE(set->write(make_entries(15, 17, 2, 8), config));   // file 3: a new leader's entries
  auto expected = std::vector<segment_ref>{{segment_file_name(1), {index_t{1}, index_t{10}}},
                                           {segment_file_name(2), {index_t{11}, index_t{14}}},
                                           {segment_file_name(3), {index_t{15}, index_t{17}}}};
  CHECK(set->refs() == expected);
  CHECK(set->range() == index_range{index_t{1}, index_t{17}});
  CHECK(*set->term_at(index_t{14}) == term_t{1});
  CHECK(*set->term_at(index_t{15}) == term_t{2});
  CHECK_FALSE(*set->read(index_t{18}));  // the old tail is gone
  std::vector<log_entry> out;
  REQUIRE(set->read_range(index_t{13}, index_t{20}, 100, out));
  REQUIRE(out.size() == 5);
  CHECK(out[2] == make_entry(15, 2, 8));

  auto reopened = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(reopened);
  CHECK(reopened->refs() == expected);

  // A file wholly overwritten (shadowed) holds nothing live and is deleted with the rest.
  REQUIRE(set->write(make_entries(11, 12, 3), config));  // file 4 shadows file 3
  CHECK(set->refs().back() == segment_ref{segment_file_name(4), {index_t{11}, index_t{12}}});
  CHECK(*set->delete_up_to(index_t{10}) ==
        std::vector<std::string>{segment_file_name(1), segment_file_name(2), segment_file_name(3)});
  CHECK(set->range() == index_range{index_t{11}, index_t{12}});
}

TEST_CASE("segment_set: open removes interrupted writes and numbers after them", "[segment]") {
  temp_dir dir;
  REQUIRE(write_segments(file_system::posix(), dir.path(), make_entries(1, 5), {}));
  { std::ofstream leftover(dir / (segment_file_name(7) + ".tmp")); leftover << "partial"; }
  auto made = write_segments(file_system::posix(), dir.path(), make_entries(6, 8), {});
  REQUIRE(made);
  CHECK(made->front().file_name == segment_file_name(8));  // never reuses a leftover's number
  { std::ofstream leftover(dir / (segment_file_name(9) + ".tmp")); leftover << "partial"; }
  auto set = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(set);
  CHECK_FALSE(fs::exists(dir / (segment_file_name(7) + ".tmp")));
  CHECK_FALSE(fs::exists(dir / (segment_file_name(9) + ".tmp")));
  CHECK(set->range() == index_range{index_t{1}, index_t{8}});
}

TEST_CASE("segment_set: a corrupt segment fails open instead of hiding entries", "[segment]") {
  temp_dir dir;
  segment_config config;
  config.segment_max_entries = 10;
  REQUIRE(write_segments(file_system::posix(), dir.path(), make_entries(1, 20), config));
  flip_byte(dir / segment_file_name(1), 2);  // magic
  auto set = segment_set::open(file_system::posix(), dir.path());
  REQUIRE_FALSE(set);
  CHECK_THAT(set.error().message(), Catch::Contains(segment_file_name(1)));
}

TEST_CASE("segment_set: a file that no longer holds what the set learnt fails the read", "[segment]") {
  // The set learns each file's range when it opens or adds it, and reads it later through
  // its cache: a file found shorter then (damage) must be an error, never a shorter run
  // that the caller would take for consecutive indexes (real seed 5984).
  temp_dir dir;
  segment_config config;
  config.segment_max_entries = 10;
  REQUIRE(write_segments(file_system::posix(), dir.path(), make_entries(1, 20), config));
  auto set = segment_set::open(file_system::posix(), dir.path());
  REQUIRE(set);
  CHECK(set->range() == index_range{index_t{1}, index_t{20}});
  {
    // The last slot of the first file (index 10) reads as never written.
    std::fstream f(dir / segment_file_name(1), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(header_bytes + 9 * slot_bytes));
    std::string zeros(slot_bytes, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  std::vector<log_entry> out;
  auto st = set->read_range(index_t{5}, index_t{15}, 100, out);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == EBADMSG);
  CHECK_THAT(st.error().message(), Catch::Contains(segment_file_name(1)));
  CHECK(out.empty());
}

TEST_CASE("segment: write errors surface with the file's path", "[segment]") {
  temp_dir dir;
  faulty_file_system faulty{file_system::posix()};
  faulty.set_rule([](std::string_view op, const std::string&) { return op == "sync" ? EIO : 0; });
  auto made = write_segments(faulty, dir.path(), make_entries(1, 5), {});
  REQUIRE_FALSE(made);
  CHECK(made.error().code == EIO);
  CHECK_THAT(made.error().path, Catch::Contains(".segment"));
  faulty.clear();
  // The failed file never got a segment name: the directory holds no segment.
  auto set = segment_set::open(faulty, dir.path());
  REQUIRE(set);
  CHECK_FALSE(set->range());
}
