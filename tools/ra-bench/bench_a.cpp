// Workloads A1 (latency) and A2 (throughput): one 3-member cluster, all members in this
// process, the bench counter machine, the real WAL with fdatasync.
//
// A1: 1,000 warm-up commands, then 20,000 16-byte commands one at a time with
//     process_command: ops/s and latency percentiles; p50 is set against one sync of
//     the raw O_DSYNC loop measured in the same run.
// A2: pipeline_command with up to 1,000 in flight for --seconds each with 16-byte and
//     1 KiB payloads: ops/s and MB/s; the WAL bytes (3 members, one shared WAL) are set
//     against the raw sequential bandwidth.

#include <fstream>
#include <iostream>
#include <thread>

#include "tools/ra-bench/bench_common.hpp"
#include "tools/ra-bench/bench_workloads.hpp"
#include "wal/wal_format.hpp"

namespace ra::bench {

namespace {

/// Ra's A1 p99 (3,448 and 4,080 us in its two runs): the target is a third of their mean.
constexpr double ra_a1_p99_us = (3448.0 + 4080.0) / 2;
constexpr double a1_p50_target_fsyncs = 1.2;
constexpr double a2_ops_target_16b = 300'000;
constexpr double a2_bandwidth_target = 0.85;

/// Bytes the WAL writes per entry: record header + entry body header + encoded command.
size_t wal_record_bytes(size_t encoded_command) {
  return storage::wal_format::record_header_size + storage::wal_format::entry_body_fixed_size + encoded_command;
}

/// Bytes this process has caused to be written to storage so far (/proc/self/io).
uint64_t process_write_bytes() {
  std::ifstream f{"/proc/self/io"};
  std::string key;
  uint64_t value = 0;
  while (f >> key >> value)
    if (key == "write_bytes:") return value;
  return 0;
}

struct started_cluster {
  std::vector<server_id> ids;
  server_id leader;
};

started_cluster start_one_cluster(ra::system& sys, const std::string& name) {
  started_cluster c;
  c.ids = cluster_ids(name, sys.name());
  auto r = ra::start_cluster(sys, name, bench_machine, c.ids, std::chrono::seconds(30));
  if (!r) throw std::runtime_error("start_cluster " + name + ": " + r.error().to_string());
  c.leader = r->leader;
  return c;
}

}  // namespace

// -- A1 ---------------------------------------------------------------------------------------

json run_a1(const run_options& o, run_frame& frame) {
  frame.progress("a1: starting a 3-member cluster");
  auto sys = start_system(o, frame.subdir("a1"));
  auto c = start_one_cluster(*sys, "a1");
  const auto cmd = make_command(16);
  auto one = [&]() {
    auto r = ra::process_command_raw(*sys, c.leader, cmd);
    if (!r) throw std::runtime_error("process_command: " + r.error().to_string());
    c.leader = r->leader;
  };
  frame.progress("a1: " + thousands(o.warmup) + " warm-up commands");
  for (size_t i = 0; i < o.warmup; ++i) one();
  frame.progress("a1: " + thousands(o.commands) + " commands of 16 B, one at a time (process_command)");
  std::vector<double> us;
  us.reserve(o.commands);
  const auto start = clock_type::now();
  auto last_status = start;
  for (size_t i = 0; i < o.commands; ++i) {
    auto t0 = clock_type::now();
    one();
    auto t1 = clock_type::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (t1 - last_status > std::chrono::seconds(1)) {
      last_status = t1;
      frame.status(thousands(i + 1) + " / " + thousands(o.commands));
    }
  }
  const double seconds = seconds_since(start);
  sys->stop();
  auto p = compute_percentiles(us);
  return {{"commands", o.commands}, {"warmup", o.warmup}, {"payload_bytes", 16}, {"seconds", seconds},
          {"ops_per_s", o.commands / seconds}, {"latency", to_json(p)}};
}

std::string report_a1(const json& r, const raw_limits& raw) {
  const auto& l = r["latency"];
  double p50 = l["p50_us"], p99 = l["p99_us"];
  double fsync = raw.fsync_us();
  std::string s = "A1 latency: 1 cluster of 3, process_command one at a time, 16 B payload\n";
  s += printf_string("  %-28s %12s\n", "ops/s", thousands(r["ops_per_s"].get<double>()).c_str());
  s += printf_string("  %-28s %8.0f / %.0f / %.0f / %.0f / %.0f\n", "p50/p90/p99/p99.9/max (us)", p50,
                     l["p90_us"].get<double>(), p99, l["p99_9_us"].get<double>(), l["max_us"].get<double>());
  s += printf_string("  %-28s %8.2f x one O_DSYNC write (%.0f us)  target <= %.1f: %s\n", "p50 vs raw sync",
                     p50 / fsync, fsync, a1_p50_target_fsyncs, p50 / fsync <= a1_p50_target_fsyncs ? "met" : "MISSED");
  s += printf_string("  %-28s %8.0f us vs Ra %.0f us / 3 = %.0f us: %s\n", "p99 vs Ra", p99, ra_a1_p99_us,
                     ra_a1_p99_us / 3, p99 <= ra_a1_p99_us / 3 ? "met" : "MISSED");
  return s;
}

// -- A2 ---------------------------------------------------------------------------------------

json run_a2(const run_options& o, run_frame& frame) {
  frame.progress("a2: starting a 3-member cluster");
  auto sys = start_system(o, frame.subdir("a2"));
  auto c = start_one_cluster(*sys, "a2");
  json runs = json::array();
  for (size_t size : o.a2_sizes) {
    frame.progress(printf_string("a2: pipeline_command, %zu in flight, %s payload, %.0f s", o.a2_window,
                                 size_label(size).c_str(), o.seconds));
    auto counters = std::make_shared<client_counters>();
    client_config cc;
    cc.target = c.leader;
    cc.command = make_command(size);
    cc.priority = parse_priority(o.priority);
    cc.window = o.a2_window;
    const size_t encoded = cc.command.size();
    auto client = spawn_client(*sys, cc, counters);
    // Half a second (at most a tenth of the run) to fill the pipeline, then measure.
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.5, o.seconds / 10)));
    const uint64_t applied0 = counters->applied.load();
    const uint64_t written0 = process_write_bytes();
    const double cpu0 = cpu_seconds();
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration<double>(o.seconds);
    uint64_t last = applied0;
    auto tick = start;
    while (clock_type::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (clock_type::now() - tick >= std::chrono::seconds(1)) {
        auto now_applied = counters->applied.load();
        frame.status(printf_string("%s: %s ops/s in the last second", size_label(size).c_str(),
                                   thousands((now_applied - last) / seconds_since(tick)).c_str()));
        last = now_applied;
        tick = clock_type::now();
      }
    }
    const uint64_t applied = counters->applied.load() - applied0;
    const double seconds = seconds_since(start);
    const double cpu = cpu_seconds() - cpu0;
    const uint64_t written = process_write_bytes() - written0;
    bool drained = drain(*counters, std::chrono::seconds(30));
    stop_client(client);
    const double ops = applied / seconds;
    const double wal_mb = ops * 3 * wal_record_bytes(encoded) / 1e6;
    runs.push_back({{"payload_bytes", size},
                    {"encoded_command_bytes", encoded},
                    {"window", o.a2_window},
                    {"seconds", seconds},
                    {"applied", applied},
                    {"ops_per_s", ops},
                    {"payload_mb_per_s", ops * size / 1e6},
                    {"wal_mb_per_s", wal_mb},
                    {"process_write_mb_per_s", written / seconds / 1e6},
                    {"cpu_cores_used", cpu / seconds},
                    {"rejected", counters->rejected.load()},
                    {"drained", drained}});
  }
  sys->stop();
  return {{"runs", runs}};
}

std::string report_a2(const json& r, const raw_limits& raw) {
  std::string s = "A2 throughput: 1 cluster of 3, pipeline_command\n";
  s += "  payload  in flight      ops/s  payload MB/s  WAL MB/s (x3)  disk MB/s  CPU cores  vs limit\n";
  for (auto& run : r["runs"]) {
    size_t size = run["payload_bytes"];
    double ops = run["ops_per_s"], wal = run["wal_mb_per_s"];
    std::string against;
    if (size >= 1024) {
      double ratio = wal / raw.mb_per_s();
      against = printf_string("%3.0f%% of seq MB/s (target >= %.0f%%: %s)", ratio * 100, a2_bandwidth_target * 100,
                              ratio >= a2_bandwidth_target ? "met" : "MISSED");
    } else {
      against = printf_string("%.2fx 300k target: %s", ops / a2_ops_target_16b,
                              ops >= a2_ops_target_16b ? "met" : "MISSED");
    }
    s += printf_string("  %-7s %10zu %10s %13.1f %14.1f %10.1f %10.2f  %s\n", size_label(size).c_str(),
                       run["window"].get<size_t>(), thousands(ops).c_str(), run["payload_mb_per_s"].get<double>(), wal,
                       run["process_write_mb_per_s"].get<double>(), run["cpu_cores_used"].get<double>(),
                       against.c_str());
  }
  s += "  WAL MB/s: 3 members x (33 B record header + 9 B entry header + encoded command) per op;\n"
       "  disk MB/s: the process's write_bytes (/proc/self/io: WAL, segments, meta).\n";
  return s;
}

}  // namespace ra::bench
