#pragma once
// What every ra-bench workload shares: the raw disk limits measured in the same run
// (a single-writer O_DSYNC 4 KiB append loop: syncs/s; sequential 1 MiB writes + one
// fdatasync: MB/s), a scratch directory, the machine description and small report
// helpers. The limits are measured before and after a workload and their mean is the
// limit the workload's figures are set against (a shared disk drifts within a minute).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ra::bench {

using json = nlohmann::ordered_json;

/// The benchmark's own directory: a new one inside `parent`, removed with its contents
/// (unless keep() was called).
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& parent);
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct dsync_figures {
  uint64_t syncs = 0;
  double seconds = 0;
  double syncs_per_s() const { return seconds > 0 ? syncs / seconds : 0; }
  double mean_latency_us() const { return syncs ? seconds * 1e6 / syncs : 0; }
};

struct sequential_figures {
  uint64_t bytes = 0;
  double seconds = 0;
  double mb_per_s() const { return seconds > 0 ? bytes / seconds / 1e6 : 0; }
};

/// One writer appending 4 KiB with O_DSYNC for `seconds`: every write() returns once
/// durable, the fastest a writer that waits for each append can go.
dsync_figures measure_dsync_loop(const std::string& path, double seconds);

/// Sequential 1 MiB writes for `seconds` (at most 2 GiB and a quarter of the free
/// space), then one fdatasync; the time includes the sync.
sequential_figures measure_sequential(const std::string& dir, const std::string& path, double seconds);

/// The limits a run is judged against: the mean of a measurement before and one after.
struct raw_limits {
  dsync_figures dsync_before, dsync_after;
  sequential_figures sequential_before, sequential_after;
  bool have_after = false;

  double syncs_per_s() const;
  double mb_per_s() const;
  /// One O_DSYNC write, in microseconds (1e6 / syncs_per_s).
  double fsync_us() const { return syncs_per_s() > 0 ? 1e6 / syncs_per_s() : 0; }
  static double drift(double a, double b);
  double dsync_drift() const;
  double sequential_drift() const;
  bool drifted() const;
};

/// Past this drift the reports warn that the ratios are not to be trusted.
inline constexpr double tolerated_drift = 0.25;

/// Measures one side (before or after) in `dir` (files removed afterwards).
void measure_raw(const std::string& dir, double seconds, dsync_figures& dsync, sequential_figures& sequential);

json to_json(const dsync_figures& d);
json to_json(const sequential_figures& s);
json to_json(const raw_limits& raw);

/// Prints the raw-limit block of a report.
std::string format_raw_limits(const raw_limits& raw);

std::string file_system_name(long type);
/// The 1-minute load average (other work on the machine skews every figure).
double load_average();
/// Cores, kernel, file system of `dir`, crc32c hardware.
json machine_info(const std::string& dir);

/// printf into a std::string (g++ 12 has no std::format).
std::string printf_string(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

std::string size_label(size_t bytes);

}  // namespace ra::bench
