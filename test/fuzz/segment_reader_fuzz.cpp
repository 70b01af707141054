// libFuzzer target: arbitrary bytes as a segment file must never crash or hang the
// segment reader or the segment set; they either read or fail with an io_error.
// Build: configure with clang++ and -DRA_FUZZ=ON, target segment_reader_fuzz.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "segments/segment_file.hpp"
#include "segments/segment_set.hpp"

namespace {

/// A private directory for the fuzzed file, removed when the fuzzer exits.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ra-segment-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    path = pattern;
  }
  ~scratch_dir() { std::filesystem::remove_all(path); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ra::storage;
  static scratch_dir dir;
  auto path = dir.path + "/" + segment_file_name(1);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto& fs = file_system::posix();
  if (auto reader = segment_reader::open(fs, path); reader) {
    if (auto range = reader->range()) {
      std::vector<ra::log_entry> out;
      (void)reader->read_range(range->first, range->last, reader->entry_count(), out);
      (void)reader->term_at(range->last);
      (void)reader->read(range->first);
    }
  }
  if (auto set = segment_set::open(fs, dir.path, 1); set) {
    if (auto range = set->range()) {
      std::vector<ra::log_entry> out;
      (void)set->read_range(range->first, range->last, 1 << 16, out);
    }
  }
  return 0;
}
