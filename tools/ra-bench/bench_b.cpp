// Workload B (scale): N 3-member clusters in one process. Time to start them all, RSS
// (and heap) per server, idle CPU over --idle-seconds once started, then --clients
// clients each pipelining (--window in flight, 16-byte commands) into a different
// cluster for --seconds: aggregate ops/s and min/max per client.

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "tools/ra-bench/bench_common.hpp"
#include "tools/ra-bench/bench_workloads.hpp"

namespace ra::bench {

namespace {

constexpr double rss_target_bytes_per_server = 4096;      // with 1,000 clusters
constexpr double idle_cpu_target_percent = 1.0;           // with 10,000 clusters
constexpr double start_target_seconds_10k = 5.0;          // 10,000 clusters
constexpr double ra_aggregate_ops = 20'000;               // Ra's 100 clients
constexpr double aggregate_target_factor = 10;

uint64_t heap_in_use() {
  struct mallinfo2 mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace

json run_b_one(const run_options& o, run_frame& frame, size_t n) {
  const std::string label = thousands(n) + " clusters";
  frame.progress("b: " + label + ": starting " + thousands(3 * n) + " servers with " +
                 std::to_string(o.start_threads) + " starting threads");
  auto sys = start_system(o, frame.subdir("b-" + std::to_string(n)));
  const uint64_t rss0 = rss_bytes();
  const uint64_t heap0 = heap_in_use();
  std::vector<server_id> leaders(n);
  std::atomic<size_t> next{0}, started{0};
  std::mutex err_mx;
  std::string first_error;
  std::atomic<size_t> failures{0};
  const auto start = clock_type::now();
  std::vector<std::thread> workers;
  for (size_t w = 0; w < std::max<size_t>(1, o.start_threads); ++w)
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        const std::string name = "b" + std::to_string(i);
        auto r = ra::start_cluster(*sys, name, bench_machine, cluster_ids(name, sys->name()), std::chrono::seconds(60));
        if (r) {
          leaders[i] = r->leader;
          ++started;
        } else {
          std::lock_guard lk{err_mx};
          if (first_error.empty()) first_error = name + ": " + r.error().to_string();
          ++failures;
        }
      }
    });
  std::thread status([&] {
    while (next.load() < n + workers.size()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      frame.status(printf_string("%s / %s clusters started, %.1f s", thousands(started.load()).c_str(),
                                 thousands(n).c_str(), seconds_since(start)));
      if (started.load() + failures >= n) break;
    }
  });
  for (auto& t : workers) t.join();
  const double start_s = seconds_since(start);
  status.join();
  if (failures > 0) std::cerr << "\nra-bench b: " << failures.load() << " clusters failed to start; first: " << first_error << '\n';
  const uint64_t rss1 = rss_bytes();
  const uint64_t heap1 = heap_in_use();
  const size_t servers = 3 * started.load();

  frame.progress(printf_string("b: %s: idle CPU over %.0f s", label.c_str(), o.idle_seconds));
  const double cpu0 = cpu_seconds();
  const auto idle_start = clock_type::now();
  json idle_series = json::array();  // % of a core, per second: shows the settling after start
  {
    double last_cpu = cpu0;
    auto last = idle_start;
    const auto idle_end = idle_start + std::chrono::duration_cast<clock_type::duration>(
                                             std::chrono::duration<double>(o.idle_seconds));
    while (clock_type::now() < idle_end) {
      std::this_thread::sleep_until(std::min<clock_type::time_point>(idle_end, last + std::chrono::seconds(1)));
      const double c = cpu_seconds();
      const auto now = clock_type::now();
      idle_series.push_back((c - last_cpu) / std::chrono::duration<double>(now - last).count() * 100);
      last_cpu = c;
      last = now;
    }
  }
  const double idle_cpu_percent = (cpu_seconds() - cpu0) / seconds_since(idle_start) * 100;
  // The second half of the window: the steady state once the start-up work has settled.
  double idle_tail = 0;
  if (!idle_series.empty()) {
    const size_t from = idle_series.size() / 2;
    for (size_t i = from; i < idle_series.size(); ++i) idle_tail += idle_series[i].get<double>();
    idle_tail /= double(idle_series.size() - from);
  }

  const size_t clients = std::min(o.clients, started.load());
  frame.progress(printf_string("b: %s: %zu clients, %zu in flight each, 16 B, %.0f s", label.c_str(), clients,
                               o.b_window, o.seconds));
  std::vector<std::shared_ptr<client_counters>> counters;
  std::vector<caf::actor> actors;
  const auto cmd = make_command(16);
  for (size_t k = 0; k < clients; ++k) {
    size_t i = k * (n / std::max<size_t>(clients, 1));
    while (leaders[i].empty()) i = (i + 1) % n;
    auto c = std::make_shared<client_counters>();
    client_config cc;
    cc.target = leaders[i];
    cc.command = cmd;
    cc.priority = parse_priority(o.priority);
    cc.window = o.b_window;
    actors.push_back(spawn_client(*sys, cc, c));
    counters.push_back(std::move(c));
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.5, o.seconds / 10)));
  std::vector<uint64_t> base;
  for (auto& c : counters) base.push_back(c->applied.load());
  const double load_cpu0 = cpu_seconds();
  const auto load_start = clock_type::now();
  const auto deadline = load_start + std::chrono::duration<double>(o.seconds);
  while (clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    uint64_t total = 0;
    for (size_t k = 0; k < counters.size(); ++k) total += counters[k]->applied.load() - base[k];
    frame.status(printf_string("%s ops/s so far", thousands(total / seconds_since(load_start)).c_str()));
  }
  const double load_s = seconds_since(load_start);
  const double load_cpu = cpu_seconds() - load_cpu0;
  std::vector<double> per_client;
  uint64_t total = 0, rejected = 0;
  for (size_t k = 0; k < counters.size(); ++k) {
    auto a = counters[k]->applied.load() - base[k];
    total += a;
    rejected += counters[k]->rejected.load();
    per_client.push_back(a / load_s);
  }
  for (auto& c : counters) drain(*c, std::chrono::seconds(30));
  for (auto& a : actors) stop_client(a);
  actors.clear();

  frame.progress("b: " + label + ": stopping");
  const auto stop_start = clock_type::now();
  sys->stop();
  const double stop_s = seconds_since(stop_start);
  double mn = per_client.empty() ? 0 : *std::min_element(per_client.begin(), per_client.end());
  double mx = per_client.empty() ? 0 : *std::max_element(per_client.begin(), per_client.end());
  return {{"clusters", n},
          {"clusters_started", started.load()},
          {"start_failures", failures.load()},
          {"servers", servers},
          {"start_threads", o.start_threads},
          {"start_seconds", start_s},
          {"clusters_per_s", started.load() / start_s},
          {"rss_before_bytes", rss0},
          {"rss_after_start_bytes", rss1},
          {"rss_per_server_bytes", servers ? double(rss1 - rss0) / servers : 0},
          {"heap_per_server_bytes", servers ? (double(heap1) - double(heap0)) / servers : 0},
          {"idle_seconds", o.idle_seconds},
          {"idle_cpu_percent_of_core", idle_cpu_percent},
          {"idle_cpu_second_half_percent_of_core", idle_tail},
          {"idle_cpu_per_second", idle_series},
          {"clients", clients},
          {"window", o.b_window},
          {"load_seconds", load_s},
          {"aggregate_ops_per_s", total / load_s},
          {"min_client_ops_per_s", mn},
          {"max_client_ops_per_s", mx},
          {"rejected", rejected},
          {"load_cpu_cores_used", load_cpu / load_s},
          {"stop_seconds", stop_s}};
}

json run_b(const run_options& o, run_frame& frame) {
  json runs = json::array();
  for (size_t n : o.clusters) runs.push_back(run_b_one(o, frame, n));
  return {{"runs", runs}};
}

std::string report_b(const json& r) {
  std::string s = "B scale: N clusters of 3 in one process\n";
  for (auto& run : r["runs"]) {
    size_t n = run["clusters"];
    double start = run["start_seconds"], rss = run["rss_per_server_bytes"], idle = run["idle_cpu_percent_of_core"];
    double agg = run["aggregate_ops_per_s"];
    s += printf_string("  %s clusters (%s servers%s)\n", thousands(n).c_str(),
                       thousands(run["servers"].get<double>()).c_str(),
                       run["start_failures"].get<size_t>() ? ", SOME FAILED TO START" : "");
    std::string start_t = n >= 10000 ? printf_string("  target <= %.0f s: %s", start_target_seconds_10k,
                                                     start <= start_target_seconds_10k ? "met" : "MISSED")
                                     : "";
    s += printf_string("    %-30s %10.2f s (%s clusters/s, %zu starting threads)%s\n", "start all", start,
                       thousands(run["clusters_per_s"].get<double>()).c_str(), run["start_threads"].get<size_t>(),
                       start_t.c_str());
    std::string rss_t = n == 1000 ? printf_string("  target <= %.0f B: %s", rss_target_bytes_per_server,
                                                  rss <= rss_target_bytes_per_server ? "met" : "MISSED")
                                  : "";
    s += printf_string("    %-30s %10s B (heap %s B)%s\n", "RSS per server", thousands(rss).c_str(),
                       thousands(run["heap_per_server_bytes"].get<double>()).c_str(), rss_t.c_str());
    std::string idle_t = n >= 10000 ? printf_string("  target <= %.0f%%: %s", idle_cpu_target_percent,
                                                    idle <= idle_cpu_target_percent ? "met" : "MISSED")
                                    : "";
    s += printf_string("    %-30s %10.2f %% of a core over %.0f s (second half: %.2f %%)%s\n", "idle CPU", idle,
                       run["idle_seconds"].get<double>(), run["idle_cpu_second_half_percent_of_core"].get<double>(),
                       idle_t.c_str());
    s += printf_string("    %-30s %10s ops/s (per client %s .. %s; %.2f cores)  target >= %s: %s\n",
                       printf_string("%zu clients, %zu in flight", run["clients"].get<size_t>(),
                                     run["window"].get<size_t>()).c_str(),
                       thousands(agg).c_str(), thousands(run["min_client_ops_per_s"].get<double>()).c_str(),
                       thousands(run["max_client_ops_per_s"].get<double>()).c_str(),
                       run["load_cpu_cores_used"].get<double>(),
                       thousands(ra_aggregate_ops * aggregate_target_factor).c_str(),
                       agg >= ra_aggregate_ops * aggregate_target_factor ? "met" : "MISSED");
    s += printf_string("    %-30s %10.2f s\n", "stop all", run["stop_seconds"].get<double>());
  }
  return s;
}

}  // namespace ra::bench
