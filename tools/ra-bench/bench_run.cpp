// The frame of a runtime benchmark run: raw limits, workloads, report, JSON.

#include <iostream>

#include "tools/ra-bench/bench_workloads.hpp"

namespace ra::bench {

namespace {

json config_json(const std::vector<std::string>& workloads, const run_options& o) {
  json j{{"workloads", workloads},
         {"seconds", o.seconds},
         {"raw_seconds", o.raw_seconds},
         {"scheduler_threads", o.scheduler_threads},
         {"log_level", o.log_level},
         {"client_priority", o.priority},
         {"machine", "bench_counter: command {int64 inc, payload}, reply = new count"},
         {"server_defaults", "ra::server_config defaults (broadcast 100 ms, detector poll 1000 ms, tick 1000 ms)"},
         {"wal", "ra::storage::wal_config defaults (fdatasync per batch, checksums on, 256 MB files, 8192/batch)"}};
  for (auto& w : workloads) {
    if (w == "a1") j["a1"] = {{"warmup", o.warmup}, {"commands", o.commands}, {"payload_bytes", 16}};
    if (w == "a2") j["a2"] = {{"window", o.a2_window}, {"payload_bytes", o.a2_sizes}};
    if (w == "b")
      j["b"] = {{"clusters", o.clusters}, {"idle_seconds", o.idle_seconds}, {"clients", o.clients},
                {"window", o.b_window}, {"start_threads", o.start_threads}, {"payload_bytes", 16}};
    if (w == "c")
      j["c"] = {{"commands", o.c_commands}, {"window", o.c_window}, {"kill_9", o.c_kill}, {"payload_bytes", 16}};
  }
  return j;
}

}  // namespace

int run_workloads(const std::vector<std::string>& workloads, const run_options& o) try {
  std::string name;
  for (auto& w : workloads) name += (name.empty() ? "" : "+") + w;
  if (workloads.size() > 1) name = "all";
  size_t steps = 0;
  for (auto& w : workloads) {
    if (w == "a1") steps += 3;
    if (w == "a2") steps += 1 + o.a2_sizes.size();
    if (w == "b") steps += 4 * o.clusters.size();
    if (w == "c") steps += o.c_kill ? 4 : 2;
  }
  run_frame frame{name, o, steps};
  frame.measure_raw_before();
  json results;
  for (auto& w : workloads) {
    if (w == "a1") results["a1"] = run_a1(o, frame);
    if (w == "a2") results["a2"] = run_a2(o, frame);
    if (w == "b") results["b"] = run_b(o, frame);
    if (w == "c") results["c"] = run_c(o, frame);
  }
  frame.measure_raw_after();
  const auto& raw = frame.raw();
  std::cout << '\n' << frame.header() << '\n';
  if (results.contains("a1")) std::cout << report_a1(results["a1"], raw) << '\n';
  if (results.contains("a2")) std::cout << report_a2(results["a2"], raw) << '\n';
  if (results.contains("b")) std::cout << report_b(results["b"]) << '\n';
  if (results.contains("c")) std::cout << report_c(results["c"]) << '\n';
  frame.write_json(config_json(workloads, o), results);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "\nra-bench: " << e.what() << '\n';
  return 1;
}

}  // namespace ra::bench
