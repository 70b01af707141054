#pragma once
// The file layer under WAL, segments and snapshots: RAII file handles behind an
// interface, so tests can inject a full disk (ENOSPC) or a failing sync (EIO) at any
// operation without a special file system. Every error carries the path and errno.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/uio.h>
#include <vector>

#include "ra/expected.hpp"

#include "ra/sync_method.hpp"

namespace ra::storage {

/// An I/O failure: what was done, to which file, and errno.
struct io_error {
  int code = 0;          ///< errno
  std::string op;        ///< "write", "fdatasync", "open", ...
  std::string path;
  std::string message() const;  ///< "fdatasync /data/00001.wal: Input/output error"
};

/// Either a value or an io_error (no exceptions for expected I/O failures).
template <class T>
using io_result = ra::expected<T, io_error>;
/// Success or an io_error.
using io_status = ra::expected<void, io_error>;
inline io_status io_ok() { return {}; }


enum class open_mode : uint8_t {
  read,           ///< existing file, read only
  read_write,     ///< existing file
  create,         ///< create (truncate if it exists), read + write
  append_create,  ///< create if missing, writes go to the end
};

struct open_options {
  open_mode mode = open_mode::read;
  bool o_dsync = false;  ///< open with O_DSYNC (wal_write_strategy o_sync)
};

/// An open file. Closing happens in the destructor.
class file {
 public:
  virtual ~file() = default;
  virtual const std::string& path() const = 0;
  /// Writes all of `data` at the current end (append) position.
  virtual io_status write(std::span<const char> data) = 0;
  /// Writes all of the buffers at the end, in one system call where possible.
  virtual io_status writev(std::span<const iovec> bufs) = 0;
  virtual io_status pwrite(std::span<const char> data, uint64_t offset) = 0;
  /// Reads up to out.size() bytes at offset; returns the number read (0 at end of file).
  virtual io_result<size_t> pread(std::span<char> out, uint64_t offset) const = 0;
  virtual io_status sync(sync_method m) = 0;
  virtual io_result<uint64_t> size() const = 0;
  virtual io_status truncate(uint64_t size) = 0;
};

/// Directory-level operations and file opening. posix() is the real one.
class file_system {
 public:
  virtual ~file_system() = default;
  virtual io_result<std::unique_ptr<file>> open(const std::string& path, open_options opts) = 0;
  virtual io_status rename(const std::string& from, const std::string& to) = 0;
  virtual io_status remove(const std::string& path) = 0;
  virtual io_status create_directories(const std::string& path) = 0;
  /// fsync of a directory, so creations, renames and deletions in it are durable.
  virtual io_status sync_directory(const std::string& path) = 0;
  /// Names (not paths) of the entries in a directory, sorted.
  virtual io_result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;

  /// The process-wide POSIX implementation.
  static file_system& posix();
};

/// A file_system that forwards to another and fails chosen operations, for tests:
/// e.g. fail every write to *.wal with ENOSPC until cleared, or the 3rd fdatasync with EIO.
class faulty_file_system final : public file_system {
 public:
  /// Decides per operation: return an errno to fail it, 0 to let it through.
  /// `op` is one of: open, write, writev, pwrite, pread, sync, truncate, rename, remove,
  /// mkdir, sync_directory, list. An open with o_dsync is checked as "open" and then
  /// also as "open_dsync", so a rule can refuse O_DSYNC alone (as some file systems do).
  using rule = std::function<int(std::string_view op, const std::string& path)>;

  explicit faulty_file_system(file_system& inner) : inner_(inner) {}
  /// Thread-safe: a test thread may change the rule while a writer thread does I/O.
  /// The rule runs under an internal lock (so its own state needs no locking), and must
  /// not call set_rule() or clear() itself.
  void set_rule(rule r);
  void clear();
  /// Number of operations failed so far.
  uint64_t failures() const { return failures_.load(); }

  io_result<std::unique_ptr<file>> open(const std::string& path, open_options opts) override;
  io_status rename(const std::string& from, const std::string& to) override;
  io_status remove(const std::string& path) override;
  io_status create_directories(const std::string& path) override;
  io_status sync_directory(const std::string& path) override;
  io_result<std::vector<std::string>> list(const std::string& dir) override;
  bool exists(const std::string& path) override { return inner_.exists(path); }

  /// Called by the wrapped files; public so they can reach it.
  int check(std::string_view op, const std::string& path);

 private:
  file_system& inner_;
  std::mutex rule_mutex_;
  rule rule_;  // guarded by rule_mutex_
  std::atomic<uint64_t> failures_{0};
};

/// Reads a whole file.
io_result<std::vector<char>> read_file(file_system& fs, const std::string& path);

/// Removes `path` and, if it is a directory, everything below it, through `fs` (so the
/// fault-injecting layers see every step). Stops at the first failure. A missing `path`
/// is success. The caller syncs the parent directory if the removal must be durable.
io_status remove_tree(file_system& fs, const std::string& path);

}  // namespace ra::storage
