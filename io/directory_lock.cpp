#include "io/directory_lock.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace ra::storage {

namespace {
constexpr std::string_view lock_op = "flock";
}

io_result<directory_lock> directory_lock::acquire(const std::string& dir) {
  const std::string path = dir + "/" + file_name;
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return io_error{errno, "open", path};
  int rc = -1;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    io_error e{errno == EAGAIN ? EWOULDBLOCK : errno, std::string(lock_op), path};
    ::close(fd);
    return e;
  }
  return directory_lock{dir, fd};
}

bool directory_lock::is_held_elsewhere(const io_error& e) { return e.code == EWOULDBLOCK && e.op == lock_op; }

directory_lock::directory_lock(directory_lock&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(std::exchange(other.fd_, -1)) {}

directory_lock& directory_lock::operator=(directory_lock&& other) noexcept {
  if (this != &other) {
    release();
    dir_ = std::move(other.dir_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

directory_lock::~directory_lock() { release(); }

void directory_lock::release() noexcept {
  // Closing the only descriptor of the open file description drops the flock.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace ra::storage
