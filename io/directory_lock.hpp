#pragma once
// An exclusive advisory lock on a directory, held for the lifetime of the object (RAII):
// one running owner per data dir or WAL dir. Two ra::systems (or two WAL writers) on one
// directory would each recover and move the other's live files away, losing acknowledged
// entries, so the second one must fail to start instead.
//
// flock(2) on <dir>/LOCK: a flock belongs to the open file description, so two
// acquisitions conflict even inside one process (fcntl record locks would not), and the
// kernel drops the lock when the process dies, so a crash never leaves a stale lock.
// The LOCK file itself is never removed (removing it would race a concurrent acquire).

#include <string>
#include <utility>

#include "io/file.hpp"

namespace ra::storage {

class directory_lock {
 public:
  /// The name of the lock file inside the locked directory.
  static constexpr const char* file_name = "LOCK";

  /// Locks `dir` (which must exist; the callers create it through their file_system)
  /// without waiting. Fails with code EWOULDBLOCK
  /// (see is_held_elsewhere) if another owner holds it, or with the I/O error otherwise.
  static io_result<directory_lock> acquire(const std::string& dir);
  /// True if `e` came from acquire() finding the directory locked by another owner.
  static bool is_held_elsewhere(const io_error& e);

  directory_lock(directory_lock&& other) noexcept;
  directory_lock& operator=(directory_lock&& other) noexcept;
  directory_lock(const directory_lock&) = delete;
  directory_lock& operator=(const directory_lock&) = delete;
  ~directory_lock();

  const std::string& directory() const { return dir_; }

 private:
  directory_lock(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  void release() noexcept;

  std::string dir_;
  int fd_ = -1;
};

}  // namespace ra::storage
