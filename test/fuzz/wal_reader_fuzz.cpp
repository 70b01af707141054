// libFuzzer target: arbitrary bytes as a WAL file must never crash or hang the reader,
// and whatever it reports must be consistent (records in order, a torn tail inside the
// file). The first input byte picks the read chunk size so chunk boundaries fall
// everywhere; the rest is the file.
//
// Build (clang only) and run:
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DRA_FUZZ=ON -DRA_BUILD_TESTS=OFF
//   ninja -C build-fuzz wal_reader_fuzz
//   mkdir -p /tmp/wal-corpus && ./build-fuzz/wal/wal_reader_fuzz /tmp/wal-corpus -max_total_time=60
// Seed the corpus with real WAL files (any *.wal a test left behind) for deeper coverage.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "io/file.hpp"
#include "wal/wal_reader.hpp"

namespace {

using namespace ra::storage;

/// A read-only in-memory file, so the fuzzer runs without touching the disk.
class memory_file final : public file {
 public:
  memory_file(const char* data, size_t size) : data_(data), size_(size) {}
  const std::string& path() const override { return path_; }
  io_status write(std::span<const char>) override { return refuse("write"); }
  io_status writev(std::span<const iovec>) override { return refuse("writev"); }
  io_status pwrite(std::span<const char>, uint64_t) override { return refuse("pwrite"); }
  io_result<size_t> pread(std::span<char> out, uint64_t offset) const override {
    if (offset >= size_)
      return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), size_ - offset);
    std::memcpy(out.data(), data_ + offset, n);
    return n;
  }
  io_status sync(sync_method) override { return io_ok(); }
  io_result<uint64_t> size() const override { return uint64_t{size_}; }
  io_status truncate(uint64_t) override { return refuse("truncate"); }

 private:
  io_status refuse(const char* op) const { return io_error{EROFS, op, path_}; }
  const char* data_;
  size_t size_;
  std::string path_ = "fuzz.wal";
};

constexpr size_t chunk_sizes[] = {1, 7, 33, 64, 4096, wal_reader::default_chunk_size};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  const size_t chunk = chunk_sizes[data[0] % std::size(chunk_sizes)];
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t file_size = size - 1;
  wal_reader reader{std::make_unique<memory_file>(bytes, file_size), "fuzz.wal", chunk};
  uint64_t last_offset = 0;
  auto step = reader.next();
  for (; step == wal_reader::step::record; step = reader.next()) {
    const wal_record& rec = reader.record();
    if (rec.offset < last_offset || rec.offset >= file_size || rec.writer_uid.empty())
      std::abort();
    last_offset = rec.offset;
  }
  if (step == wal_reader::step::torn_tail &&
      (reader.torn_tail_offset() < last_offset || reader.torn_tail_offset() >= file_size))
    std::abort();
  if (step == wal_reader::step::end_of_file && reader.position() != file_size)
    std::abort();
  if (reader.next() != step)  // finished readers stay finished
    std::abort();
  return 0;
}
