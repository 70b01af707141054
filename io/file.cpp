// POSIX implementation of the file layer, the fault-injecting wrapper used by tests,
// and the whole-file read helper (the atomic write is in io/atomic_write.cpp). Every system call is retried on EINTR and every
// short write is continued, so callers only ever see "all done" or an io_error.

#include "io/file.hpp"

#include <algorithm>
#include <climits>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace ra::storage {

std::string io_error::message() const {
  // std::system_category().message is thread-safe, unlike strerror.
  return op + " " + path + ": " + std::system_category().message(code);
}

namespace {

io_error last_error(std::string_view op, const std::string& path) {
  return io_error{errno, std::string(op), path};
}

/// Owns a file descriptor; closes it exactly once.
class unique_fd {
 public:
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  int get() const { return fd_; }

 private:
  void reset() noexcept {
    // close() is not retried on EINTR: on Linux the descriptor is gone either way.
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using unique_dir = std::unique_ptr<DIR, dir_closer>;

class posix_file final : public file {
 public:
  posix_file(unique_fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  io_status write(std::span<const char> data) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_.get(), p, left);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return last_error("write", path_);
      }
      if (n == 0)  // no progress and no errno: report rather than spin
        return io_error{EIO, "write", path_};
      p += n;
      left -= static_cast<size_t>(n);
    }
    return io_ok();
  }

  io_status writev(std::span<const iovec> bufs) override {
    // A private copy, because a partial write advances the first unfinished buffer.
    std::vector<iovec> rest(bufs.begin(), bufs.end());
    size_t first = 0;
    auto skip_empty = [&] {
      while (first < rest.size() && rest[first].iov_len == 0)
        ++first;
    };
    skip_empty();
    while (first < rest.size()) {
      int count = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
      ssize_t n = ::writev(fd_.get(), rest.data() + first, count);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return last_error("writev", path_);
      }
      if (n == 0)
        return io_error{EIO, "writev", path_};
      auto done = static_cast<size_t>(n);
      while (done > 0) {
        size_t step = std::min(done, rest[first].iov_len);
        rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + step;
        rest[first].iov_len -= step;
        done -= step;
        if (rest[first].iov_len == 0)
          ++first;
      }
      skip_empty();
    }
    return io_ok();
  }

  io_status pwrite(std::span<const char> data, uint64_t offset) override {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::pwrite(fd_.get(), p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return last_error("pwrite", path_);
      }
      if (n == 0)
        return io_error{EIO, "pwrite", path_};
      p += n;
      left -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return io_ok();
  }

  io_result<size_t> pread(std::span<char> out, uint64_t offset) const override {
    size_t got = 0;
    while (got < out.size()) {
      ssize_t n = ::pread(fd_.get(), out.data() + got, out.size() - got,
                          static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return last_error("pread", path_);
      }
      if (n == 0)
        break;  // end of file
      got += static_cast<size_t>(n);
    }
    return got;
  }

  io_status sync(sync_method m) override {
    int rc = 0;
    switch (m) {
      case sync_method::datasync:
        rc = ::fdatasync(fd_.get());
        break;
      case sync_method::sync:
        rc = ::fsync(fd_.get());
        break;
      case sync_method::none:
        return io_ok();
    }
    if (rc != 0)
      return last_error(m == sync_method::datasync ? "fdatasync" : "fsync", path_);
    return io_ok();
  }

  io_result<uint64_t> size() const override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0)
      return last_error("fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  io_status truncate(uint64_t new_size) override {
    while (::ftruncate(fd_.get(), static_cast<off_t>(new_size)) != 0) {
      if (errno != EINTR)
        return last_error("ftruncate", path_);
    }
    // write() appends at the file position: move it to the new end.
    if (::lseek(fd_.get(), 0, SEEK_END) < 0)
      return last_error("lseek", path_);
    return io_ok();
  }

 private:
  unique_fd fd_;
  std::string path_;
};

class posix_file_system final : public file_system {
 public:
  io_result<std::unique_ptr<file>> open(const std::string& path, open_options opts) override {
    int flags = O_CLOEXEC;
    switch (opts.mode) {
      case open_mode::read:
        flags |= O_RDONLY;
        break;
      case open_mode::read_write:
        flags |= O_RDWR;
        break;
      case open_mode::create:
        flags |= O_RDWR | O_CREAT | O_TRUNC;
        break;
      case open_mode::append_create:
        // Not O_APPEND: on Linux it would make pwrite ignore its offset. The position
        // is moved to the end below instead.
        flags |= O_RDWR | O_CREAT;
        break;
    }
    if (opts.o_dsync)
      flags |= O_DSYNC;
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
      return last_error("open", path);
    unique_fd owned{fd};
    if (opts.mode != open_mode::read && ::lseek(owned.get(), 0, SEEK_END) < 0)
      return last_error("lseek", path);
    return std::unique_ptr<file>(std::make_unique<posix_file>(std::move(owned), path));
  }

  io_status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return last_error("rename", from + " -> " + to);
    return io_ok();
  }

  io_status remove(const std::string& path) override {
    if (::remove(path.c_str()) != 0)
      return last_error("remove", path);
    return io_ok();
  }

  io_status create_directories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec)
      return io_error{ec.value(), "mkdir", path};
    return io_ok();
  }

  io_status sync_directory(const std::string& path) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
      return last_error("open", path);
    unique_fd dir{fd};
    if (::fsync(dir.get()) != 0)
      return last_error("fsync", path);
    return io_ok();
  }

  io_result<std::vector<std::string>> list(const std::string& dir) override {
    unique_dir d{::opendir(dir.c_str())};
    if (!d)
      return last_error("opendir", dir);
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d.get());
      if (e == nullptr) {
        if (errno != 0)
          return last_error("readdir", dir);
        break;
      }
      std::string_view name = e->d_name;
      if (name != "." && name != "..")
        names.emplace_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  bool exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
};

/// A file whose every operation first asks the owning faulty_file_system.
class faulty_file final : public file {
 public:
  faulty_file(faulty_file_system& owner, std::unique_ptr<file> inner)
    : owner_(owner), inner_(std::move(inner)) {}

  const std::string& path() const override { return inner_->path(); }
  io_status write(std::span<const char> data) override {
    if (int e = owner_.check("write", path()))
      return io_error{e, "write", path()};
    return inner_->write(data);
  }
  io_status writev(std::span<const iovec> bufs) override {
    if (int e = owner_.check("writev", path()))
      return io_error{e, "writev", path()};
    return inner_->writev(bufs);
  }
  io_status pwrite(std::span<const char> data, uint64_t offset) override {
    if (int e = owner_.check("pwrite", path()))
      return io_error{e, "pwrite", path()};
    return inner_->pwrite(data, offset);
  }
  io_result<size_t> pread(std::span<char> out, uint64_t offset) const override {
    if (int e = owner_.check("pread", path()))
      return io_error{e, "pread", path()};
    return inner_->pread(out, offset);
  }
  io_status sync(sync_method m) override {
    if (int e = owner_.check("sync", path()))
      return io_error{e, "sync", path()};
    return inner_->sync(m);
  }
  io_result<uint64_t> size() const override { return inner_->size(); }
  io_status truncate(uint64_t new_size) override {
    if (int e = owner_.check("truncate", path()))
      return io_error{e, "truncate", path()};
    return inner_->truncate(new_size);
  }

 private:
  faulty_file_system& owner_;
  std::unique_ptr<file> inner_;
};

}  // namespace

file_system& file_system::posix() {
  static posix_file_system instance;
  return instance;
}

void faulty_file_system::set_rule(rule r) {
  std::lock_guard lock{rule_mutex_};
  rule_ = std::move(r);
}

void faulty_file_system::clear() {
  std::lock_guard lock{rule_mutex_};
  rule_ = nullptr;
}

int faulty_file_system::check(std::string_view op, const std::string& path) {
  std::lock_guard lock{rule_mutex_};
  int e = rule_ ? rule_(op, path) : 0;
  if (e != 0)
    ++failures_;
  return e;
}

io_result<std::unique_ptr<file>> faulty_file_system::open(const std::string& path,
                                                         open_options opts) {
  if (int e = check("open", path))
    return io_error{e, "open", path};
  if (opts.o_dsync) {
    if (int e = check("open_dsync", path))
      return io_error{e, "open", path};
  }
  auto f = inner_.open(path, opts);
  if (!f)
    return f.error();
  return std::unique_ptr<file>(std::make_unique<faulty_file>(*this, std::move(*f)));
}

io_status faulty_file_system::rename(const std::string& from, const std::string& to) {
  if (int e = check("rename", from))
    return io_error{e, "rename", from + " -> " + to};
  return inner_.rename(from, to);
}

io_status faulty_file_system::remove(const std::string& path) {
  if (int e = check("remove", path))
    return io_error{e, "remove", path};
  return inner_.remove(path);
}

io_status faulty_file_system::create_directories(const std::string& path) {
  if (int e = check("mkdir", path))
    return io_error{e, "mkdir", path};
  return inner_.create_directories(path);
}

io_status faulty_file_system::sync_directory(const std::string& path) {
  if (int e = check("sync_directory", path))
    return io_error{e, "sync_directory", path};
  return inner_.sync_directory(path);
}

io_result<std::vector<std::string>> faulty_file_system::list(const std::string& dir) {
  if (int e = check("list", dir))
    return io_error{e, "list", dir};
  return inner_.list(dir);
}

io_status remove_tree(file_system& fs, const std::string& path) {
  if (!fs.exists(path)) return io_ok();
  // list() fails with ENOTDIR on a file: that is a leaf.
  if (auto names = fs.list(path)) {
    for (auto& name : *names)
      if (auto st = remove_tree(fs, path + "/" + name); !st) return st;
  } else if (names.error().code != ENOTDIR) {
    return names.error();
  }
  return fs.remove(path);
}

io_result<std::vector<char>> read_file(file_system& fs, const std::string& path) {
  auto f = fs.open(path, {open_mode::read});
  if (!f)
    return f.error();
  auto size = (*f)->size();
  if (!size)
    return size.error();
  std::vector<char> data(*size);
  auto got = (*f)->pread(data, 0);
  if (!got)
    return got.error();
  data.resize(*got);  // the file may have shrunk since fstat
  return data;
}

}  // namespace ra::storage
