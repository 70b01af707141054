#pragma once
// What the runtime workloads (a1, a2, b, c) share: their options, the benchmark machine,
// starting a ra::system, the pipelining client actor, latency percentiles, process
// figures (RSS, CPU), progress lines, and the frame of every report (machine, config,
// raw disk limits before and after, JSON file).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "ra/api.hpp"
#include "ra/system.hpp"
#include "tools/ra-bench/disk_limits.hpp"

namespace CLI {
class App;
}

namespace ra::bench {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t);

// -- options ------------------------------------------------------------------------------

struct run_options {
  /// Parent of the run's scratch directory (default /tmp); the scratch dir is removed.
  std::string data_dir;
  /// Measurement duration where a workload runs for a time (a2 per payload size, b load).
  double seconds = 10;
  /// Each raw disk measurement (before and after): O_DSYNC loop, then sequential.
  double raw_seconds = 2;
  std::string json_path;
  /// spdlog level inside the runtime (role changes are logged at info).
  std::string log_level = "warn";
  size_t scheduler_threads = 2;
  /// pipeline_command priority of the clients (a2, b, c): "normal" or "low" (Ra's
  /// default for pipeline_command; the leader batches low-priority commands).
  std::string priority = "normal";

  // a1
  size_t warmup = 1000;
  size_t commands = 20000;
  // a2
  size_t a2_window = 1000;
  std::vector<size_t> a2_sizes{16, 1024};
  // b
  std::vector<size_t> clusters{1000, 10000};
  double idle_seconds = 20;
  size_t clients = 100;
  size_t b_window = 100;
  size_t start_threads = 8;
  // c
  size_t c_commands = 1'000'000;
  size_t c_window = 1000;
  bool c_kill = true;  ///< also the kill -9 variant
  // c child mode (internal)
  std::string c_phase;      ///< "", "write" or "recover"
  std::string c_state_dir;  ///< the data dir the children share
  bool c_wait_kill = false; ///< write phase: wait to be killed once everything is acked
};

void add_common_options(CLI::App& sub, run_options& o);
command_priority parse_priority(const std::string& p);

// -- the machine --------------------------------------------------------------------------

/// Ra's benchmark counter: command = {increment, payload}, reply = the new count.
struct bench_command {
  int64_t inc = 1;
  std::string payload;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bench_command& x) {
  return f(x.inc, x.payload);
}
/// The machine's name in the system's registry.
inline const std::string bench_machine = "bench_counter";
/// Registers the benchmarks' machine (a counter of {int64 inc, payload} commands) as bench_machine.
void add_bench_machine(system_config& cfg);
/// The encoded command with a payload of `size` bytes.
shared_bytes make_command(size_t payload_size);

// -- the runtime ----------------------------------------------------------------------------

/// A system on `data_dir` with the bench machine registered. Throws on failure.
std::unique_ptr<ra::system> start_system(const run_options& o, const std::string& data_dir,
                                         const std::string& name = "bench");
std::vector<server_id> cluster_ids(const std::string& cluster, const std::string& node, size_t members = 3);

// -- the pipelining client ----------------------------------------------------------------

/// Shared between a client actor and the thread that reads its figures.
struct client_counters {
  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> redirects{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> issued{0};
  std::atomic<bool> stop{false};  ///< stop issuing (what is in flight still completes)
  /// Highest reply seen (the counter value after the command).
  std::atomic<int64_t> last_reply{0};
};

struct client_config {
  server_id target;   ///< a member; not_leader rejections redirect to the leader
  shared_bytes command;
  size_t window = 100;          ///< commands in flight at most
  uint64_t limit = 0;           ///< stop after issuing this many (0 = until stop)
  bool decode_replies = false;  ///< track the highest reply (costs a decode per command)
  command_priority priority = command_priority::normal;
};

/// Spawns an event-based actor that keeps `window` commands in flight through
/// pipeline_command, counts applied notifications and follows not_leader rejections.
/// It starts at once. End it with stop_client (after setting counters->stop and letting
/// in-flight commands drain, if wanted).
caf::actor spawn_client(ra::system& sys, client_config cfg, std::shared_ptr<client_counters> counters);
void stop_client(const caf::actor& client);
/// Sets stop and waits (bounded) until nothing is in flight. False if it timed out.
bool drain(client_counters& c, std::chrono::milliseconds timeout);

// -- figures ------------------------------------------------------------------------------

/// Latency percentiles of a sample (microseconds).
struct percentiles {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
percentiles compute_percentiles(std::vector<double> us);
json to_json(const percentiles& p);

/// Resident set size of this process (bytes).
uint64_t rss_bytes();
/// CPU seconds (user + system) used by this process so far.
double cpu_seconds();

// -- run frame ----------------------------------------------------------------------------

/// A workload's run: scratch directory, machine info, raw limits before/after, progress.
class run_frame {
 public:
  run_frame(std::string benchmark, const run_options& o, size_t steps);
  const std::string& dir() const { return dir_->path(); }
  std::string subdir(const std::string& name) const;
  /// Prints "ra-bench NAME: [k/n] what" on stderr.
  void progress(const std::string& what);
  /// A transient status line (overwritten by the next one) on stderr.
  void status(const std::string& what) const;
  void measure_raw_before();
  void measure_raw_after();
  const raw_limits& raw() const { return raw_; }
  json& machine() { return machine_; }
  /// Header line + raw limits.
  std::string header() const;
  /// Writes {benchmark, machine, config, raw, results} to o.json_path if set.
  void write_json(const json& config, const json& results) const;

 private:
  std::string name_;
  const run_options& o_;
  std::unique_ptr<scratch_dir> dir_;
  json machine_;
  raw_limits raw_;
  size_t steps_;
  size_t step_ = 0;
};

/// Thousands separators: 1234567 -> "1,234,567".
std::string thousands(double v);

}  // namespace ra::bench
