// `ra-bench storage` (see bench_storage.hpp for what is measured and why).

#include "tools/ra-bench/bench_storage.hpp"
#include "tools/ra-bench/disk_limits.hpp"
#include "tools/ra-bench/option_checks.hpp"

#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "io/crc32c.hpp"
#include "wal/wal_writer.hpp"

namespace ra::bench {

namespace {

using clock_type = std::chrono::steady_clock;
namespace stdfs = std::filesystem;

constexpr size_t dsync_block_size = 4096;
constexpr size_t sequential_block_size = 1 << 20;
constexpr std::array<size_t, 2> entry_sizes{16, 1024};
constexpr std::array<size_t, 4> writer_counts{1, 10, 100, 1000};
constexpr double single_writer_target = 0.90;
constexpr double bandwidth_target = 0.80;
constexpr size_t bandwidth_target_min_writers = 100;
constexpr size_t bandwidth_target_entry_size = 1024;

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// -- the WAL --------------------------------------------------------------------------

struct pending_append {
  uint32_t writer = 0;
  log_entry entry;
};

/// The WAL thread: batches as the WAL actor does (everything queued goes into one
/// write and one sync, flushing early when a batch is full) and hands each writer's
/// durable index back to the driving thread.
class wal_thread {
 public:
  wal_thread(storage::wal_config config, std::vector<std::string> uids)
    : wal_(std::move(config)), uids_(std::move(uids)) {
    for (uint32_t i = 0; i < uids_.size(); ++i) ids_.emplace(uids_[i], i);
    if (auto st = wal_.start(); !st) throw std::runtime_error("wal start: " + st.error().message());
    thread_ = std::thread([this] { run(); });
  }
  wal_thread(const wal_thread&) = delete;
  wal_thread& operator=(const wal_thread&) = delete;
  ~wal_thread() { stop(); }

  /// Moves `appends` to the back of the queue (one lock for the lot, as many writers'
  /// messages land in one mailbox).
  void submit(std::vector<pending_append>& appends) {
    {
      std::lock_guard lock{queue_mutex_};
      for (auto& a : appends) queue_.push_back(std::move(a));
    }
    appends.clear();
    queue_cv_.notify_one();
  }

  /// Waits for durable indexes, as (writer, index) pairs. Rethrows a WAL failure.
  void wait_written(std::vector<std::pair<uint32_t, uint64_t>>& out) {
    out.clear();
    std::unique_lock lock{written_mutex_};
    written_cv_.wait(lock, [&] { return !written_.empty() || failure_; });
    if (failure_) std::rethrow_exception(failure_);
    out.swap(written_);
  }

  /// Stops the thread (after what is queued) and returns the writer's counters.
  storage::wal_writer_stats stop() {
    if (thread_.joinable()) {
      {
        std::lock_guard lock{queue_mutex_};
        stopping_ = true;
      }
      queue_cv_.notify_one();
      thread_.join();
    }
    return wal_.stats();
  }

 private:
  void run() {
    try {
      std::vector<pending_append> batch;
      for (;;) {
        {
          std::unique_lock lock{queue_mutex_};
          queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
          if (queue_.empty()) return;  // stopping, nothing left
          batch.swap(queue_);
        }
        for (auto& a : batch) {
          auto queued = wal_.queue(uids_[a.writer], std::span<const log_entry>{&a.entry, 1});
          if (queued.status != storage::queue_status::queued)
            throw std::logic_error("wal refused an append of " + uids_[a.writer]);
          if (wal_.batch_full()) flush();
        }
        batch.clear();
        flush();
      }
    } catch (...) {
      std::lock_guard lock{written_mutex_};
      failure_ = std::current_exception();
      written_cv_.notify_one();
    }
  }

  void flush() {
    auto result = wal_.flush();
    if (!result.ok()) throw std::runtime_error("wal flush: " + result.error->message());
    if (result.written.empty()) return;
    {
      std::lock_guard lock{written_mutex_};
      for (auto& w : result.written) written_.emplace_back(ids_.at(w.writer), w.index.value);
    }
    written_cv_.notify_one();
  }

  storage::wal_writer wal_;  // used by the thread only, until it is joined
  const std::vector<std::string> uids_;
  std::unordered_map<std::string, uint32_t> ids_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<pending_append> queue_;  // guarded by queue_mutex_
  bool stopping_ = false;              // guarded by queue_mutex_

  std::mutex written_mutex_;
  std::condition_variable written_cv_;
  std::vector<std::pair<uint32_t, uint64_t>> written_;  // guarded by written_mutex_
  std::exception_ptr failure_;                          // guarded by written_mutex_

  std::thread thread_;  // last: starts after every member it uses exists
};

struct wal_run {
  size_t entry_size = 0;
  size_t writers = 0;
  size_t window = 0;
  uint64_t appends = 0;
  double seconds = 0;
  double latency_sum_s = 0;
  storage::wal_writer_stats stats;

  double appends_per_s() const { return appends / seconds; }
  double mb_per_s() const { return stats.bytes / seconds / 1e6; }
  double payload_mb_per_s() const { return appends * entry_size / seconds / 1e6; }
  double syncs_per_s() const { return stats.syncs / seconds; }
  double entries_per_batch() const { return stats.batches ? double(stats.entries) / stats.batches : 0; }
  double mean_latency_us() const { return appends ? latency_sum_s * 1e6 / appends : 0; }
};

/// The driving side: `writers` logical writers (Raft servers, each with its own index
/// sequence), each keeping `window` appends in flight; a writer issues its next append
/// as soon as one of its appends is durable. Issuing stops at the deadline; the
/// appends in flight then drain, and the rate is over the whole time.
wal_run measure_wal(const std::string& dir, size_t entry_size, size_t writers, size_t window, double seconds) {
  struct writer_state {
    uint64_t next_index = 1;
    uint64_t durable_index = 0;
    std::deque<clock_type::time_point> issued;  ///< issue times of the appends in flight
  };
  std::vector<std::string> uids;
  for (size_t w = 0; w < writers; ++w) uids.push_back("writer-" + std::to_string(w + 1));
  std::vector<writer_state> state(writers);
  // One payload for every entry: the benchmark measures the WAL, not the allocator.
  std::vector<char> payload_bytes(entry_size);
  for (size_t i = 0; i < entry_size; ++i) payload_bytes[i] = static_cast<char>('a' + i % 26);
  const shared_bytes payload{std::move(payload_bytes)};

  storage::wal_config config;  // Ra's defaults: fdatasync per batch, checksums on
  config.wal_data_dir = dir;
  wal_thread wal{config, uids};

  wal_run r;
  r.entry_size = entry_size;
  r.writers = writers;
  r.window = window;
  std::vector<pending_append> to_submit;
  auto issue = [&](uint32_t w, clock_type::time_point now) {
    writer_state& s = state[w];
    log_entry e{index_t{s.next_index++}, term_t{1}, entry_kind::command, 0, payload};
    to_submit.push_back({w, std::move(e)});
    s.issued.push_back(now);
  };
  const auto start = clock_type::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  for (uint32_t w = 0; w < writers; ++w)
    for (size_t k = 0; k < window; ++k) issue(w, start);
  uint64_t in_flight = to_submit.size();
  wal.submit(to_submit);

  std::vector<std::pair<uint32_t, uint64_t>> written;
  auto now = start;
  while (in_flight > 0) {
    wal.wait_written(written);
    now = clock_type::now();
    const bool issuing = now < deadline;
    for (auto [w, index] : written) {
      writer_state& s = state[w];
      for (; s.durable_index < index; ++s.durable_index, --in_flight, ++r.appends) {
        r.latency_sum_s += seconds_between(s.issued.front(), now);
        s.issued.pop_front();
      }
      for (; issuing && s.issued.size() < window; ++in_flight) issue(w, now);
    }
    if (!to_submit.empty()) wal.submit(to_submit);
  }
  r.seconds = seconds_between(start, now);
  r.stats = wal.stop();
  return r;
}

// -- report ---------------------------------------------------------------------------

struct verdict {
  const char* limit = "";
  double ratio = 0;
  std::optional<double> target;  ///< where one is set for this case
};

/// The raw limit a WAL run is judged against: a single writer waits for every sync, so
/// it is bounded by the O_DSYNC loop; concurrent writers are bounded by bandwidth.
verdict judge(const wal_run& r, const raw_limits& raw) {
  if (r.writers == 1) return {"dsync_loop_syncs_per_s", r.syncs_per_s() / raw.syncs_per_s(), single_writer_target};
  verdict v{"sequential_mb_per_s", r.mb_per_s() / raw.mb_per_s(), std::nullopt};
  if (r.writers >= bandwidth_target_min_writers && r.entry_size == bandwidth_target_entry_size)
    v.target = bandwidth_target;
  return v;
}

json to_json(const wal_run& r, const verdict& v) {
  json j{{"entry_size", r.entry_size},
         {"writers", r.writers},
         {"window", r.window},
         {"appends", r.appends},
         {"seconds", r.seconds},
         {"appends_per_s", r.appends_per_s()},
         {"wal_bytes", r.stats.bytes},
         {"mb_per_s", r.mb_per_s()},
         {"payload_mb_per_s", r.payload_mb_per_s()},
         {"syncs", r.stats.syncs},
         {"syncs_per_s", r.syncs_per_s()},
         {"batches", r.stats.batches},
         {"entries_per_batch", r.entries_per_batch()},
         {"mean_latency_us", r.mean_latency_us()},
         {"rollovers", r.stats.rollovers},
         {"limit", v.limit},
         {"ratio", v.ratio}};
  if (v.target) j.update({{"target", *v.target}, {"target_met", v.ratio >= *v.target}});
  return j;
}

json config_json(const storage_bench_options& o) {
  const storage::wal_config wal_defaults;  // what measure_wal runs with
  return {{"seconds", o.seconds},
          {"window_single_writer", 1},
          {"window", o.window},
          {"writer_counts", writer_counts},
          {"entry_sizes", entry_sizes},
          {"dsync_block_size", dsync_block_size},
          {"sequential_block_size", sequential_block_size},
          {"raw_limit", "mean of the measurements before and after the WAL runs"},
          {"wal",
           {{"wal_max_size_bytes", wal_defaults.wal_max_size_bytes},
            {"wal_max_batch_size", wal_defaults.wal_max_batch_size},
            {"wal_compute_checksums", wal_defaults.wal_compute_checksums},
            {"wal_sync_method", wal_defaults.wal_sync_method == storage::sync_method::datasync ? "datasync" : "other"},
            {"wal_write_strategy",
             wal_defaults.wal_write_strategy == storage::write_strategy::default_strategy ? "default" : "o_sync"}}}};
}

void print_report(const json& machine, const storage_bench_options& o, const raw_limits& raw,
                  const std::vector<wal_run>& runs) {
  std::cout << "ra-bench storage: " << machine["data_dir"].get<std::string>() << " ("
            << machine.value("file_system", "?") << "), " << machine["cores"] << " cores, " << o.seconds
            << " s per measurement, load average "
            << printf_string("%.1f before, %.1f after", machine["load_average_before"].get<double>(),
                             machine["load_average_after"].get<double>())
            << "\n\n"
            << format_raw_limits(raw);
  std::cout << "\nWAL (wal_writer, default config: one write + one fdatasync per batch)\n"
            << "  entry  writers window  appends/s      MB/s  syncs/s  entries/batch  latency ms  vs raw limit\n";
  for (auto& r : runs) {
    auto v = judge(r, raw);
    std::string against = printf_string("%3.0f%% of %s", v.ratio * 100, r.writers == 1 ? "O_DSYNC syncs/s" : "seq MB/s");
    if (v.target)
      against += printf_string(" (target >= %.0f%%: %s)", *v.target * 100, v.ratio >= *v.target ? "met" : "MISSED");
    std::cout << printf_string("  %-6s %7zu %6zu %10.0f %9.1f %8.0f %14.1f %11.2f  ", size_label(r.entry_size).c_str(),
                               r.writers, r.window, r.appends_per_s(), r.mb_per_s(), r.syncs_per_s(),
                               r.entries_per_batch(), r.mean_latency_us() / 1000)
              << against << '\n';
  }
  std::cout << "\nMB/s: WAL file bytes (33-byte record header + 9-byte entry header + payload) in 10^6 bytes/s.\n";
}

}  // namespace

void add_storage_options(CLI::App& sub, storage_bench_options& o) {
  sub.add_option("--data-dir", o.data_dir, "directory to benchmark in (default: a fresh one under /tmp)");
  sub.add_option("--seconds", o.seconds, "duration of each measurement (default 3)")->check(measured_seconds());
  sub.add_option("--window", o.window, "appends in flight per writer with several writers (default 128)")
    ->check(CLI::Range(size_t{1}, size_t{1} << 16));
  sub.add_option("--json", o.json_path, "also write every figure, the machine and the config as JSON");
}

int run_storage_bench(const storage_bench_options& o) try {
  scratch_dir dir{o.data_dir.empty() ? std::string{"/tmp"} : o.data_dir};
  json machine = machine_info(dir.path());
  machine["load_average_before"] = load_average();
  const size_t steps = 4 + entry_sizes.size() * writer_counts.size();
  size_t step = 0;
  auto progress = [&](const std::string& what) {
    std::cerr << "ra-bench storage: [" << ++step << "/" << steps << "] " << what << " (" << o.seconds << " s)\n";
  };
  raw_limits raw;
  auto measure_raw = [&](const char* when, dsync_figures& dsync, sequential_figures& sequential) {
    progress(std::string{"raw, "} + when + ": O_DSYNC 4 KiB append loop");
    dsync = measure_dsync_loop(dir / "raw-dsync.dat", o.seconds);
    progress(std::string{"raw, "} + when + ": sequential 1 MiB writes + fdatasync");
    sequential = measure_sequential(dir.path(), dir / "raw-sequential.dat", o.seconds);
  };

  measure_raw("before", raw.dsync_before, raw.sequential_before);
  std::vector<wal_run> runs;
  for (size_t size : entry_sizes)
    for (size_t writers : writer_counts) {
      const size_t window = writers == 1 ? 1 : o.window;
      progress("wal: " + size_label(size) + " entries, " + std::to_string(writers) + " writers, window " +
               std::to_string(window));
      const std::string wal_dir = dir / ("wal-" + std::to_string(size) + "-" + std::to_string(writers));
      runs.push_back(measure_wal(wal_dir, size, writers, window, o.seconds));
      stdfs::remove_all(wal_dir);  // keeps disk use to one run's files
    }
  measure_raw("after", raw.dsync_after, raw.sequential_after);
  raw.have_after = true;
  machine["load_average_after"] = load_average();

  print_report(machine, o, raw, runs);
  if (!o.json_path.empty()) {
    json wal = json::array();
    for (auto& r : runs) wal.push_back(to_json(r, judge(r, raw)));
    json out{{"benchmark", "storage"},
             {"machine", machine},
             {"config", config_json(o)},
             {"raw",
              {{"before", {{"dsync_loop", to_json(raw.dsync_before)}, {"sequential", to_json(raw.sequential_before)}}},
               {"after", {{"dsync_loop", to_json(raw.dsync_after)}, {"sequential", to_json(raw.sequential_after)}}},
               {"limit_used", {{"dsync_loop_syncs_per_s", raw.syncs_per_s()}, {"sequential_mb_per_s", raw.mb_per_s()}}},
               {"drift", {{"dsync_loop", raw.dsync_drift()}, {"sequential", raw.sequential_drift()}}}}},
             {"wal", wal}};
    std::ofstream file{o.json_path};
    file << out.dump(2) << '\n';
    if (!file) throw std::runtime_error("cannot write " + o.json_path);
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "ra-bench storage: " << e.what() << '\n';
  return 1;
}

}  // namespace ra::bench
