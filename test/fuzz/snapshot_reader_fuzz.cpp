// libFuzzer target: arbitrary bytes as a snapshot file must never crash or hang the
// snapshot readers (load, read_meta, the chunk reader); they either read or report.
// Build: configure with clang++ and -DRA_FUZZ=ON, target snapshot_reader_fuzz.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "snapshot/snapshot_file.hpp"
#include "snapshot/snapshot_transfer.hpp"

namespace {

/// A private server directory for the fuzzed file, removed when the fuzzer exits.
struct scratch_dir {
  std::string path;
  scratch_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ra-snapshot-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    path = pattern;
    std::filesystem::create_directories(path + "/" + ra::storage::snapshots_dir_name);
  }
  ~scratch_dir() { std::filesystem::remove_all(path); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ra::storage;
  static scratch_dir dir;
  // Named as the meta in most inputs will not be: that mismatch is checked too.
  auto path = dir.path + "/" + snapshots_dir_name + "/" + snapshot_file_name(ra::index_t{1}, ra::term_t{1});
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto& fs = file_system::posix();
  (void)load_latest_valid(fs, dir.path);
  (void)read_meta(fs, path);
  if (auto sender = snapshot_chunk_reader::open(fs, path, 64); sender) {
    for (uint32_t n = 1; n <= sender->chunk_count(); ++n) (void)sender->read_chunk(n);
  }
  return 0;
}
