// The raw disk limits and report helpers every ra-bench workload shares.

#include "tools/ra-bench/disk_limits.hpp"

#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <thread>
#include <vector>

#include "io/crc32c.hpp"

namespace ra::bench {

namespace {

using clock_type = std::chrono::steady_clock;
namespace stdfs = std::filesystem;

constexpr size_t dsync_block_size = 4096;
constexpr size_t sequential_block_size = 1 << 20;
constexpr uint64_t sequential_max_bytes = uint64_t{2} << 30;

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void throw_errno(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::system_category(), what + " " + path);
}

/// A file descriptor closed on scope exit; the file is removed too.
class scratch_file {
 public:
  scratch_file(std::string path, int flags) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), flags | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw_errno("open", path_);
  }
  scratch_file(const scratch_file&) = delete;
  scratch_file& operator=(const scratch_file&) = delete;
  ~scratch_file() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  void write_all(const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("write", path_);
      data += n;
      size -= static_cast<size_t>(n);
    }
  }
  void datasync() {
    if (::fdatasync(fd_) != 0) throw_errno("fdatasync", path_);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

scratch_dir::scratch_dir(const std::string& parent) {
  stdfs::create_directories(parent);
  std::string pattern = parent + "/ra-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp", pattern);
  path_ = pattern;
}

scratch_dir::~scratch_dir() {
  std::error_code ignored;  // a destructor cannot report; a leftover is harmless
  stdfs::remove_all(path_, ignored);
}

dsync_figures measure_dsync_loop(const std::string& path, double seconds) {
  scratch_file f{path, O_WRONLY | O_APPEND | O_DSYNC};
  std::vector<char> block(dsync_block_size, 'd');
  dsync_figures r;
  const auto start = clock_type::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  do {
    f.write_all(block.data(), block.size());
    ++r.syncs;
    now = clock_type::now();
  } while (now < deadline);
  r.seconds = seconds_between(start, now);
  return r;
}

sequential_figures measure_sequential(const std::string& dir, const std::string& path, double seconds) {
  struct statvfs vfs {};
  uint64_t limit = sequential_max_bytes;
  if (::statvfs(dir.c_str(), &vfs) == 0) limit = std::min<uint64_t>(limit, uint64_t{vfs.f_bavail} * vfs.f_frsize / 4);
  limit = std::max<uint64_t>(limit, sequential_block_size);
  scratch_file f{path, O_WRONLY};
  std::vector<char> block(sequential_block_size, 's');
  sequential_figures r;
  const auto start = clock_type::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  while (r.bytes + block.size() <= limit && (r.bytes == 0 || clock_type::now() < deadline)) {
    f.write_all(block.data(), block.size());
    r.bytes += block.size();
  }
  f.datasync();
  r.seconds = seconds_between(start, clock_type::now());
  return r;
}

void measure_raw(const std::string& dir, double seconds, dsync_figures& dsync, sequential_figures& sequential) {
  dsync = measure_dsync_loop(dir + "/raw-dsync.dat", seconds);
  sequential = measure_sequential(dir, dir + "/raw-sequential.dat", seconds);
}

double raw_limits::syncs_per_s() const {
  return have_after ? (dsync_before.syncs_per_s() + dsync_after.syncs_per_s()) / 2 : dsync_before.syncs_per_s();
}
double raw_limits::mb_per_s() const {
  return have_after ? (sequential_before.mb_per_s() + sequential_after.mb_per_s()) / 2
                    : sequential_before.mb_per_s();
}
double raw_limits::drift(double a, double b) {
  if (std::min(a, b) <= 0) return 0;
  return std::max(a, b) / std::min(a, b) - 1;
}
double raw_limits::dsync_drift() const {
  return have_after ? drift(dsync_before.syncs_per_s(), dsync_after.syncs_per_s()) : 0;
}
double raw_limits::sequential_drift() const {
  return have_after ? drift(sequential_before.mb_per_s(), sequential_after.mb_per_s()) : 0;
}
bool raw_limits::drifted() const { return dsync_drift() > tolerated_drift || sequential_drift() > tolerated_drift; }

json to_json(const dsync_figures& d) {
  return {{"syncs", d.syncs}, {"seconds", d.seconds}, {"syncs_per_s", d.syncs_per_s()},
          {"mean_latency_us", d.mean_latency_us()}};
}

json to_json(const sequential_figures& s) {
  return {{"bytes", s.bytes}, {"seconds", s.seconds}, {"mb_per_s", s.mb_per_s()}};
}

json to_json(const raw_limits& raw) {
  json j{{"before", {{"dsync_loop", to_json(raw.dsync_before)}, {"sequential", to_json(raw.sequential_before)}}}};
  if (raw.have_after)
    j["after"] = {{"dsync_loop", to_json(raw.dsync_after)}, {"sequential", to_json(raw.sequential_after)}};
  j["limit_used"] = {{"dsync_loop_syncs_per_s", raw.syncs_per_s()},
                     {"fsync_us", raw.fsync_us()},
                     {"sequential_mb_per_s", raw.mb_per_s()}};
  j["drift"] = {{"dsync_loop", raw.dsync_drift()}, {"sequential", raw.sequential_drift()}};
  return j;
}

std::string format_raw_limits(const raw_limits& raw) {
  std::string s = "raw disk limits (this run)          before      after  limit used (mean)\n";
  s += printf_string("  O_DSYNC 4 KiB append loop  %10.0f %10.0f %10.0f syncs/s (one sync: %.0f us)\n",
                     raw.dsync_before.syncs_per_s(), raw.dsync_after.syncs_per_s(), raw.syncs_per_s(),
                     raw.fsync_us());
  s += printf_string("  sequential 1 MiB + fdatasync %8.1f %10.1f %10.1f MB/s\n", raw.sequential_before.mb_per_s(),
                     raw.sequential_after.mb_per_s(), raw.mb_per_s());
  if (raw.drifted())
    s += printf_string("  WARNING: the disk changed speed during the run (O_DSYNC %+.0f%%, sequential %+.0f%%);"
                       " the ratios are unreliable\n",
                       raw.dsync_drift() * 100, raw.sequential_drift() * 100);
  return s;
}

std::string file_system_name(long type) {
  switch (static_cast<unsigned long>(type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0xF2F52010: return "f2fs";
    case 0x6969: return "nfs";
    default: break;
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(type));
  return hex;
}

double load_average() {
  double load[1];
  return ::getloadavg(load, 1) == 1 ? load[0] : -1;
}

json machine_info(const std::string& dir) {
  json m{{"cores", std::thread::hardware_concurrency()}};
  if (utsname u{}; ::uname(&u) == 0)
    m["kernel"] = json{{"sysname", u.sysname}, {"release", u.release}, {"version", u.version}, {"machine", u.machine}};
  if (struct statfs s {}; ::statfs(dir.c_str(), &s) == 0) m["file_system"] = file_system_name(s.f_type);
  m["data_dir"] = dir;
  m["crc32c_hardware"] = storage::crc32c_hardware();
  return m;
}

std::string printf_string(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

std::string size_label(size_t bytes) {
  return bytes >= 1024 ? std::to_string(bytes / 1024) + " KiB" : std::to_string(bytes) + " B";
}

}  // namespace ra::bench
