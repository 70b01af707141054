// CRC32C, the file layer, the WAL record format and the WAL reader's recovery rule.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "test/storage/storage_test_util.hpp"
#include "io/atomic_write.hpp"
#include "io/crc32c.hpp"
#include "io/file.hpp"
#include "wal/wal_format.hpp"
#include "wal/wal_reader.hpp"

using namespace ra;
using namespace ra::storage;
using ra::storage::test::make_entries;
using ra::storage::test::make_entry;
using ra::storage::test::read_bytes;
using ra::storage::test::temp_dir;
using ra::storage::test::write_bytes;
namespace fmt = ra::storage::wal_format;

// -- CRC32C ------------------------------------------------------------------------------

TEST_CASE("crc32c matches the published check values", "[crc32c]") {
  std::string check = "123456789";
  std::vector<char> zeros(32, 0), ones(32, '\xFF'), ascending(32);
  for (int i = 0; i < 32; ++i)
    ascending[i] = static_cast<char>(i);
  // "123456789" is the standard check string; the 32-byte ones are RFC 3720 (iSCSI) B.4.
  auto check_all = [&](auto crc) {
    CHECK(crc(check.data(), check.size(), 0) == 0xE3069283u);
    CHECK(crc(zeros.data(), zeros.size(), 0) == 0x8A9136AAu);
    CHECK(crc(ones.data(), ones.size(), 0) == 0x62A8AB43u);
    CHECK(crc(ascending.data(), ascending.size(), 0) == 0x46DD794Eu);
    CHECK(crc(check.data(), 0, 0) == 0u);
  };
  SECTION("software") { check_all(crc32c_software); }
  SECTION("dispatching entry point") {
    check_all([](const void* p, size_t n, uint32_t c) { return crc32c(p, n, c); });
    CHECK(crc32c(std::span<const char>(check)) == 0xE3069283u);
  }
  SECTION("hardware") {
    if (!crc32c_hardware())
      WARN("no SSE4.2 on this CPU: hardware path not tested");
    else
      check_all(crc32c_sse42);
  }
}

TEST_CASE("crc32c continues across pieces and both paths agree on random data", "[crc32c]") {
  std::mt19937_64 rng(42);
  std::vector<char> data(4096 + 16);
  for (auto& c : data)
    c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096}) {
      const char* p = data.data() + offset;
      uint32_t soft = crc32c_software(p, size);
      CHECK(crc32c(p, size) == soft);
      if (crc32c_hardware())
        CHECK(crc32c_sse42(p, size) == soft);
      size_t cut = size / 3;
      CHECK(crc32c(p + cut, size - cut, crc32c(p, cut)) == soft);
      CHECK(crc32c_software(p + cut, size - cut, crc32c_software(p, cut)) == soft);
    }
  }
}

TEST_CASE("crc32c throughput", "[.][bench]") {
  std::vector<char> data(size_t{64} << 20, 'a');
  auto measure = [&](auto crc, const char* name) {
    auto start = std::chrono::steady_clock::now();
    uint32_t sum = 0;
    for (int round = 0; round < 8; ++round)
      sum += crc(data.data(), data.size(), 0);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("crc32c %s: %.2f GB/s (%08x)\n", name, 8.0 * data.size() / took.count() / 1e9, sum);
  };
  measure(crc32c_software, "software slicing-by-8");
  if (crc32c_hardware())
    measure(crc32c_sse42, "hardware sse4.2");
}

// -- file layer ----------------------------------------------------------------------------

TEST_CASE("posix files: write, writev, pread, truncate, append position", "[file]") {
  temp_dir dir;
  file_system& fs = file_system::posix();
  const std::string path = dir / "f";
  {
    auto f = fs.open(path, {open_mode::create});
    REQUIRE(f);
    REQUIRE((*f)->write(std::string_view("hello ")));
    // More buffers than IOV_MAX, so writev must loop.
    std::vector<std::string> parts;
    for (int i = 0; i < 2000; ++i)
      parts.push_back(std::to_string(i % 10));
    std::vector<iovec> iov;
    for (auto& p : parts)
      iov.push_back(iovec{p.data(), p.size()});
    iov.push_back(iovec{nullptr, 0});
    REQUIRE((*f)->writev(iov));
    REQUIRE(*(*f)->size() == 2006);
    REQUIRE((*f)->truncate(8));
    REQUIRE((*f)->write(std::string_view("!")));  // lands at the new end
    REQUIRE((*f)->pwrite(std::string_view("H"), 0));
    REQUIRE((*f)->sync(sync_method::datasync));
    REQUIRE((*f)->sync(sync_method::sync));
    REQUIRE((*f)->sync(sync_method::none));
  }
  std::vector<char> content = read_bytes(path);
  CHECK(std::string(content.begin(), content.end()) == "Hello 01!");
  {
    auto f = fs.open(path, {open_mode::append_create});
    REQUIRE(f);
    REQUIRE((*f)->write(std::string_view("+")));
    char buf[64];
    auto got = (*f)->pread(buf, 6);
    REQUIRE(got);
    CHECK(std::string(buf, *got) == "01!+");
    auto at_end = (*f)->pread(buf, 100);
    REQUIRE(at_end);
    CHECK(*at_end == 0);
  }
  auto dsync = fs.open(path, {open_mode::read_write, true});
  REQUIRE(dsync);
  REQUIRE((*dsync)->write(std::string_view("d")));
  CHECK(read_bytes(path).size() == 11);
}

TEST_CASE("posix file system: errors name op and path, listing, atomic writes", "[file]") {
  temp_dir dir;
  file_system& fs = file_system::posix();
  auto missing = fs.open(dir / "nope", {open_mode::read});
  REQUIRE(!missing);
  CHECK(missing.error().code == ENOENT);
  CHECK(missing.error().message() == "open " + (dir / "nope") + ": No such file or directory");

  REQUIRE(fs.create_directories(dir / "a/b"));
  REQUIRE(write_file_atomically(fs, dir / "a/b/z", std::string_view("zzz")));
  REQUIRE(write_file_atomically(fs, dir / "a/b/y", std::string_view("yy")));
  auto names = fs.list(dir / "a/b");
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"y", "z"});  // sorted, no .tmp left
  auto z = read_file(fs, dir / "a/b/z");
  REQUIRE(z);
  CHECK(std::string(z->begin(), z->end()) == "zzz");
  REQUIRE(fs.sync_directory(dir / "a/b"));
  CHECK(!fs.sync_directory(dir / "nope"));
  REQUIRE(fs.rename(dir / "a/b/y", dir / "a/b/x"));
  CHECK(fs.exists(dir / "a/b/x"));
  REQUIRE(fs.remove(dir / "a/b/x"));
  CHECK(!fs.exists(dir / "a/b/x"));
  CHECK(!fs.remove(dir / "a/b/x"));
}

TEST_CASE("faulty file system fails chosen operations and counts them", "[file]") {
  temp_dir dir;
  faulty_file_system fs{file_system::posix()};
  auto f = fs.open(dir / "x.wal", {open_mode::create});
  REQUIRE(f);
  int syncs_seen = 0;
  fs.set_rule([&](std::string_view op, const std::string& path) {
    if (op == "sync")
      ++syncs_seen;
    if (op == "write" && path.ends_with(".wal"))
      return ENOSPC;
    return 0;
  });
  auto st = (*f)->write(std::string_view("abc"));
  REQUIRE(!st);
  CHECK(st.error().code == ENOSPC);
  CHECK(st.error().message() == "write " + (dir / "x.wal") + ": No space left on device");
  REQUIRE((*f)->sync(sync_method::datasync));
  CHECK(syncs_seen == 1);
  CHECK(fs.failures() == 1);
  CHECK(read_bytes(dir / "x.wal").empty());
  fs.clear();
  REQUIRE((*f)->write(std::string_view("abc")));
  CHECK(read_bytes(dir / "x.wal").size() == 3);

  fs.set_rule([](std::string_view op, const std::string&) { return op == "open_dsync" ? EINVAL : 0; });
  CHECK(fs.open(dir / "x.wal", {open_mode::read_write}));
  auto refused = fs.open(dir / "x.wal", {open_mode::read_write, true});
  REQUIRE(!refused);
  CHECK(refused.error().code == EINVAL);
  CHECK(fs.failures() == 2);
}

// -- record format ---------------------------------------------------------------------------

namespace {

/// A WAL file image: header, a declaration of `writer`, then `entries`. Records the
/// offset of every entry record and the end of the file.
struct wal_image {
  std::vector<char> bytes;
  std::vector<uint64_t> record_offsets;
};

wal_image build_image(const std::string& writer, const std::vector<log_entry>& entries,
                      bool checksums = true) {
  wal_image img;
  fmt::append_file_header(img.bytes);
  fmt::append_writer_declaration(img.bytes, 0, writer);
  for (const auto& e : entries) {
    img.record_offsets.push_back(img.bytes.size());
    fmt::append_entry(img.bytes, 0, e, false, checksums);
  }
  return img;
}

struct read_outcome {
  std::vector<log_entry> entries;
  std::vector<std::string> writers;
  wal_reader::step last_step = wal_reader::step::record;
  uint64_t torn_offset = 0;
  wal_error error;
};

read_outcome read_all(const std::string& path, size_t chunk = wal_reader::default_chunk_size) {
  read_outcome out;
  wal_reader reader{file_system::posix(), path, chunk};
  auto step = reader.next();
  for (; step == wal_reader::step::record; step = reader.next()) {
    out.entries.push_back(reader.record().entry);
    out.writers.emplace_back(reader.record().writer_uid);
  }
  out.last_step = step;
  out.torn_offset = reader.torn_tail_offset();
  out.error = reader.error();
  return out;
}

}  // namespace

TEST_CASE("wal format: records round trip", "[wal][format]") {
  std::vector<log_entry> entries = {
    make_entry(1, 1, "", entry_kind::noop, -5),
    make_entry(2, 1, "x", entry_kind::cluster_change, 1234567890123),
    make_entry(3, 9, std::string(70000, 'p')),
  };
  std::vector<char> buf;
  fmt::append_writer_declaration(buf, 7, "server-uid");
  REQUIRE(buf.size() == fmt::record_header_size + 10);
  for (const auto& e : entries) {
    size_t before = buf.size();
    fmt::append_entry(buf, 7, e, e.index.value == 2, true);
    CHECK(buf.size() - before == fmt::entry_record_size(e));
  }
  size_t pos = 0;
  fmt::record_header h;
  REQUIRE(fmt::decode_header(buf.data(), h) == fmt::header_status::ok);
  CHECK(h.type == fmt::record_type::writer_declaration);
  CHECK(h.writer_ref == 7);
  CHECK(std::string(buf.data() + fmt::record_header_size, h.body_length) == "server-uid");
  pos += fmt::record_header_size + h.body_length;
  for (const auto& e : entries) {
    REQUIRE(fmt::decode_header(buf.data() + pos, h) == fmt::header_status::ok);
    std::span<const char> body{buf.data() + pos + fmt::record_header_size, h.body_length};
    CHECK(fmt::body_intact(h, body));
    CHECK(h.truncate == (e.index.value == 2));
    log_entry back;
    REQUIRE(fmt::decode_entry(h, body, back));
    CHECK(back == e);
    pos += fmt::record_header_size + h.body_length;
  }
  CHECK(pos == buf.size());
}

TEST_CASE("wal format: zeros and any single bit flip in a header fail its checksum", "[wal][format]") {
  std::vector<char> zeros(fmt::record_header_size, 0);
  fmt::record_header h;
  CHECK(fmt::decode_header(zeros.data(), h) == fmt::header_status::bad_checksum);
  std::vector<char> buf;
  fmt::append_entry(buf, 3, make_entry(5, 2, "abc"), false, true);
  for (size_t bit = 0; bit < fmt::record_header_size * 8; ++bit) {
    auto copy = buf;
    copy[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    CHECK(fmt::decode_header(copy.data(), h) == fmt::header_status::bad_checksum);
  }
  // An intact header that claims an unknown record type is invalid, not torn.
  CHECK(fmt::check_file_header(std::string_view("RAWA\x01\0\0\0", 8)) == fmt::file_header_status::ok);
  CHECK(fmt::check_file_header(std::string_view("RAWB\x01\0\0\0", 8)) == fmt::file_header_status::bad_magic);
  CHECK(fmt::check_file_header(std::string_view("RAWA\x02\0\0\0", 8)) == fmt::file_header_status::ok);
  CHECK(fmt::check_file_header(std::string_view("RAWA\x03\0\0\0", 8)) == fmt::file_header_status::bad_version);
}

// -- reader -----------------------------------------------------------------------------------

TEST_CASE("wal reader reads every record, in chunks of any size", "[wal][reader]") {
  temp_dir dir;
  auto entries = make_entries(1, 40, 3);
  entries.push_back(make_entry(41, 3, std::string(5000, 'b')));  // larger than the chunks
  auto img = build_image("w1", entries);
  write_bytes(dir / "a.wal", img.bytes);
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{64}, size_t{1000}, wal_reader::default_chunk_size}) {
    auto out = read_all(dir / "a.wal", chunk);
    CHECK(out.last_step == wal_reader::step::end_of_file);
    CHECK(out.entries == entries);
    CHECK(out.writers == std::vector<std::string>(entries.size(), "w1"));
  }
}

TEST_CASE("wal reader: a last record cut short by any number of bytes is a torn tail", "[wal][reader]") {
  temp_dir dir;
  auto entries = make_entries(1, 3, 1, 40);
  auto img = build_image("w", entries);
  const uint64_t last_at = img.record_offsets.back();
  const size_t last_size = img.bytes.size() - last_at;
  for (size_t cut = 1; cut < last_size; ++cut) {
    std::vector<char> bytes(img.bytes.begin(), img.bytes.end() - static_cast<long>(cut));
    write_bytes(dir / "t.wal", bytes);
    auto out = read_all(dir / "t.wal", 16);
    INFO("cut " << cut << " bytes");
    REQUIRE(out.last_step == wal_reader::step::torn_tail);
    CHECK(out.torn_offset == last_at);
    CHECK(out.entries == std::vector<log_entry>(entries.begin(), entries.end() - 1));
  }
  // Cutting the whole record leaves a clean file.
  write_bytes(dir / "t.wal", std::vector<char>(img.bytes.begin(), img.bytes.begin() + static_cast<long>(last_at)));
  CHECK(read_all(dir / "t.wal").last_step == wal_reader::step::end_of_file);
}

TEST_CASE("wal reader: a flipped bit in a middle record is an error at its offset", "[wal][reader]") {
  temp_dir dir;
  auto entries = make_entries(1, 3, 1, 20);
  auto img = build_image("w", entries);
  const uint64_t middle = img.record_offsets[1];
  const uint64_t middle_end = img.record_offsets[2];
  for (uint64_t byte = middle; byte < middle_end; ++byte) {
    auto bytes = img.bytes;
    bytes[byte] ^= static_cast<char>(1 << (byte % 8));
    write_bytes(dir / "c.wal", bytes);
    auto out = read_all(dir / "c.wal");
    INFO("flipped a bit of byte " << byte);
    REQUIRE(out.last_step == wal_reader::step::error);
    CHECK(out.error.offset == middle);
    CHECK(out.error.path == dir / "c.wal");
    CHECK(out.error.message().find(dir / "c.wal") == 0);
    CHECK(out.error.message().find("at offset " + std::to_string(middle)) != std::string::npos);
    CHECK(out.entries.size() == 1);
  }
}

TEST_CASE("wal reader: damage in the last record's body is a torn tail", "[wal][reader]") {
  temp_dir dir;
  auto img = build_image("w", make_entries(1, 3, 1, 20));
  auto bytes = img.bytes;
  bytes.back() ^= 1;
  write_bytes(dir / "l.wal", bytes);
  auto out = read_all(dir / "l.wal");
  CHECK(out.last_step == wal_reader::step::torn_tail);
  CHECK(out.torn_offset == img.record_offsets.back());
  CHECK(out.entries.size() == 2);
}

TEST_CASE("wal reader: zeros at the end are a torn tail, zeros then data are not", "[wal][reader]") {
  temp_dir dir;
  auto img = build_image("w", make_entries(1, 3, 1, 20));
  SECTION("zero-filled tail (pre-allocated or extended file)") {
    auto bytes = img.bytes;
    bytes.resize(bytes.size() + 4096, 0);
    write_bytes(dir / "z.wal", bytes);
    auto out = read_all(dir / "z.wal", 100);
    CHECK(out.last_step == wal_reader::step::torn_tail);
    CHECK(out.torn_offset == img.bytes.size());
    CHECK(out.entries.size() == 3);
  }
  SECTION("the last record zeroed") {
    auto bytes = img.bytes;
    std::fill(bytes.begin() + static_cast<long>(img.record_offsets.back()), bytes.end(), 0);
    write_bytes(dir / "z.wal", bytes);
    auto out = read_all(dir / "z.wal");
    CHECK(out.last_step == wal_reader::step::torn_tail);
    CHECK(out.torn_offset == img.record_offsets.back());
  }
  SECTION("a zeroed record followed by a valid one") {
    auto bytes = img.bytes;
    std::fill(bytes.begin() + static_cast<long>(img.record_offsets[1]),
              bytes.begin() + static_cast<long>(img.record_offsets[2]), 0);
    write_bytes(dir / "z.wal", bytes);
    auto out = read_all(dir / "z.wal");
    CHECK(out.last_step == wal_reader::step::error);
    CHECK(out.error.offset == img.record_offsets[1]);
  }
}

TEST_CASE("wal reader: bad file headers are errors naming the file", "[wal][reader]") {
  temp_dir dir;
  auto img = build_image("w", make_entries(1, 2, 1));
  auto expect_error = [&](std::vector<char> bytes, const std::string& reason) {
    write_bytes(dir / "h.wal", bytes);
    auto out = read_all(dir / "h.wal");
    REQUIRE(out.last_step == wal_reader::step::error);
    CHECK(out.error.path == dir / "h.wal");
    CHECK(out.error.reason.find(reason) != std::string::npos);
    CHECK(out.entries.empty());
  };
  auto bad_magic = img.bytes;
  bad_magic[0] = 'X';
  expect_error(bad_magic, "bad magic");
  auto bad_version = img.bytes;
  bad_version[4] = 9;
  expect_error(bad_version, "unsupported WAL version 9");
  expect_error({'R', 'A'}, "shorter than its header");
  auto missing = read_all(dir / "missing.wal");
  CHECK(missing.last_step == wal_reader::step::error);
  CHECK(missing.error.message().find("No such file") != std::string::npos);
}

TEST_CASE("wal reader: undeclared writer refs are errors", "[wal][reader]") {
  temp_dir dir;
  std::vector<char> bytes;
  fmt::append_file_header(bytes);
  fmt::append_entry(bytes, 5, make_entry(1, 1, "a"), false, true);
  fmt::append_entry(bytes, 5, make_entry(2, 1, "b"), false, true);
  write_bytes(dir / "u.wal", bytes);
  auto out = read_all(dir / "u.wal");
  CHECK(out.last_step == wal_reader::step::error);
  CHECK(out.error.offset == fmt::file_header_size);
  CHECK(out.error.reason == "entry of undeclared writer ref 5");
}

TEST_CASE("wal reader: without checksums bodies are not checked", "[wal][reader]") {
  temp_dir dir;
  auto img = build_image("w", make_entries(1, 3, 1, 20), false);
  auto bytes = img.bytes;
  bytes[img.record_offsets[1] + fmt::record_header_size + 12] ^= 1;  // a payload byte
  write_bytes(dir / "n.wal", bytes);
  auto out = read_all(dir / "n.wal");
  CHECK(out.last_step == wal_reader::step::end_of_file);
  REQUIRE(out.entries.size() == 3);
  CHECK(out.entries[1].payload != make_entries(2, 2, 1, 20)[0].payload);
}
