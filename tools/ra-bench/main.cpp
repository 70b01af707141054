// ra-bench: ra-cpp's benchmarks, one subcommand each (docs/benchmarks.md).
//
//   ra-bench all     [--clusters N,...] [--seconds S] [--data-dir DIR] [--json out.json]
//   ra-bench a1      [--commands 20000] [--warmup 1000]          latency, process_command
//   ra-bench a2      [--seconds 10] [--window 1000]              throughput, pipeline_command
//   ra-bench b       [--clusters 1000,10000] [--idle-seconds 20] scale
//   ra-bench c       [--commands 1000000] [--no-kill]            recovery (child processes)
//   ra-bench storage [--seconds S] [--window N]                  the WAL alone
//   ra-bench dist    [--seconds 5] [--rounds 3]                  across processes, plain vs TLS
//   ra-bench metrics [--clusters 3334] [--rounds 3]              Prometheus scrape and its cost on A2
//
// A new benchmark is one more entry in benchmarks(): its name, a description, and a
// function that registers its options on its subcommand and returns what runs it.

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ra/version.hpp"
#include "tools/ra-bench/bench_dist.hpp"
#include "tools/ra-bench/bench_metrics.hpp"
#include "tools/ra-bench/bench_storage.hpp"
#include "tools/ra-bench/bench_workloads.hpp"
#include "tools/ra-bench/option_checks.hpp"

namespace {

constexpr int exit_usage = 2;

/// Runs a benchmark whose options have been parsed; returns the exit status.
using bench_runner = std::function<int()>;

struct benchmark {
  std::string description;
  /// Registers the benchmark's options on its subcommand. The runner it returns owns
  /// the option values CLI11 fills in.
  std::function<bench_runner(CLI::App& subcommand)> setup;
};

/// A runtime workload: the common options plus `extra`, run by run_workloads (or, for
/// c with --phase, as one of its child processes).
benchmark workload(std::string description, std::vector<std::string> workloads,
                   std::function<void(CLI::App&, ra::bench::run_options&)> extra) {
  return {std::move(description), [workloads, extra](CLI::App& sub) -> bench_runner {
            auto o = std::make_shared<ra::bench::run_options>();
            ra::bench::add_common_options(sub, *o);
            extra(sub, *o);
            return [o, workloads] {
              if (!o->c_phase.empty()) return ra::bench::run_c_child(*o);
              return ra::bench::run_workloads(workloads, *o);
            };
          }};
}

void a1_options(CLI::App& sub, ra::bench::run_options& o) {
  sub.add_option("--commands", o.commands, "timed commands (default 20000)")->check(ra::bench::count_up_to(100'000'000));
  sub.add_option("--warmup", o.warmup, "warm-up commands (default 1000)")
    ->check(CLI::Range(size_t{0}, size_t{100'000'000}));
}
void a2_options(CLI::App& sub, ra::bench::run_options& o) {
  sub.add_option("--window", o.a2_window, "commands in flight (default 1000)")->check(ra::bench::count_up_to(1'000'000));
  sub.add_option("--sizes", o.a2_sizes, "payload sizes in bytes (default 16,1024)")
    ->delimiter(',')
    ->check(ra::bench::count_up_to(size_t{16} << 20));
}
void b_options(CLI::App& sub, ra::bench::run_options& o) {
  sub.add_option("--clusters", o.clusters, "numbers of 3-member clusters, one run each (default 1000,10000)")
    ->delimiter(',')
    ->check(ra::bench::count_up_to(1'000'000));
  sub.add_option("--idle-seconds", o.idle_seconds, "idle CPU measurement (default 20)")
    ->check(ra::bench::measured_seconds());
  sub.add_option("--clients", o.clients, "pipelining clients, one per cluster (default 100)")
    ->check(ra::bench::count_up_to(1'000'000));
  sub.add_option("--b-window", o.b_window, "commands in flight per client (default 100)")
    ->check(ra::bench::count_up_to(1'000'000));
  sub.add_option("--start-threads", o.start_threads, "threads calling start_cluster (default 8)")
    ->check(ra::bench::count_up_to(1024));
}
void c_options(CLI::App& sub, ra::bench::run_options& o, const std::string& prefix) {
  sub.add_option("--" + prefix + "commands", o.c_commands, "commands written before the restart (default 1000000)")
    ->check(ra::bench::count_up_to(1'000'000'000));
  sub.add_option("--" + prefix + "window", o.c_window, "commands in flight while writing (default 1000)")
    ->check(ra::bench::count_up_to(1'000'000));
  sub.add_flag("--no-kill", [&o](int64_t) { o.c_kill = false; }, "skip the kill -9 variant");
}

const std::map<std::string, benchmark>& benchmarks() {
  static const std::map<std::string, benchmark> all = {
    {"a1", workload("A1 latency: 1 cluster of 3, 16 B commands one at a time (process_command)", {"a1"}, a1_options)},
    {"a2", workload("A2 throughput: 1 cluster of 3, pipeline_command, 16 B and 1 KiB", {"a2"}, a2_options)},
    {"b", workload("B scale: N clusters of 3: start time, RSS/server, idle CPU, 100 pipelining clients", {"b"},
                   b_options)},
    {"c", workload("C recovery: write 1M commands, clean stop / kill -9, restart in a new process", {"c"},
                   [](CLI::App& sub, ra::bench::run_options& o) {
                     c_options(sub, o, "");
                     sub.add_option("--phase", o.c_phase, "internal: run as the write or recover child");
                     sub.add_option("--state-dir", o.c_state_dir, "internal: the children's data dir");
                     sub.add_flag("--wait-kill", o.c_wait_kill, "internal: wait to be killed once acknowledged");
                   })},
    {"all", workload("a1, a2, b and c in one run (one table, one JSON file)", {"a1", "a2", "b", "c"},
                     [](CLI::App& sub, ra::bench::run_options& o) {
                       a1_options(sub, o);
                       a2_options(sub, o);
                       b_options(sub, o);
                       c_options(sub, o, "c-");
                     })},
    {"dist",
     {"1 cluster of 3 across 3 node processes, pipeline_command from a 4th: plain TCP vs mutual TLS",
      [](CLI::App& sub) -> bench_runner {
        auto options = std::make_shared<ra::bench::dist_options>();
        ra::bench::add_dist_options(sub, *options);
        return [options] { return ra::bench::run_dist_bench(*options); };
      }}},
    {"metrics",
     {"what Prometheus metrics cost: a scrape with --clusters clusters running; A2 without and with scraping",
      [](CLI::App& sub) -> bench_runner {
        auto options = std::make_shared<ra::bench::metrics_bench_options>();
        ra::bench::add_metrics_options(sub, *options);
        return [options] { return ra::bench::run_metrics_bench(*options); };
      }}},
    {"storage",
     {"raw disk limits (O_DSYNC loop, sequential bandwidth), then WAL appends/s and MB/s for 1..1000 writers",
      [](CLI::App& sub) -> bench_runner {
        auto options = std::make_shared<ra::bench::storage_bench_options>();
        ra::bench::add_storage_options(sub, *options);
        return [options] { return ra::bench::run_storage_bench(*options); };
      }}},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ra-bench: ra-cpp benchmarks"};
  app.set_version_flag("--version", "ra-bench " RA_VERSION_STRING);
  // At most one benchmark; none is reported after parsing, so that an unknown word is
  // named as such ("not expected") rather than as a missing benchmark.
  app.require_subcommand(0, 1);
  std::map<CLI::App*, bench_runner> runners;
  for (auto& [name, bench] : benchmarks()) {
    CLI::App* sub = app.add_subcommand(name, bench.description);
    runners.emplace(sub, bench.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : exit_usage;
  }
  for (auto& [sub, run] : runners)
    if (sub->parsed()) return run();
  std::cerr << "ra-bench: a benchmark is required\n" << app.help();
  return exit_usage;
}
