#pragma once
// Helpers shared by the storage tests: a temporary directory that removes itself,
// entry builders, and raw file access for corrupting files on purpose.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "ra/log_entry.hpp"

namespace ra::storage::test {

/// A fresh directory under $TMPDIR (or /tmp), deleted with everything in it.
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ra-storage-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// XORs the byte at `offset` of the file with `mask`: a precise, single-byte corruption.
inline void flip_byte(const std::string& path, uint64_t offset, char mask = 0x40) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) throw std::runtime_error("flip_byte: cannot open " + path);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ mask);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

inline log_entry make_entry(uint64_t index, uint64_t term, std::string payload,
                            entry_kind kind = entry_kind::command, int64_t time = 0) {
  log_entry e;
  e.index = index_t{index};
  e.term = term_t{term};
  e.kind = kind;
  e.system_time = time;
  e.payload = shared_bytes::copy_of(payload);
  return e;
}

/// Entries first..last (inclusive), each with a payload naming its index and term.
inline std::vector<log_entry> make_entries(uint64_t first, uint64_t last, uint64_t term,
                                           size_t payload_size = 0) {
  std::vector<log_entry> out;
  for (uint64_t i = first; i <= last; ++i) {
    std::string payload = "e" + std::to_string(i) + "t" + std::to_string(term);
    if (payload.size() < payload_size)
      payload.resize(payload_size, 'x');
    out.push_back(make_entry(i, term, payload, entry_kind::command, static_cast<int64_t>(i * 7)));
  }
  return out;
}

inline std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw std::runtime_error("cannot write " + path);
}

}  // namespace ra::storage::test
