// ra-bench: ra-cpp's benchmarks, one subcommand each.
//
//   ra-bench storage [--data-dir DIR] [--seconds S] [--window N] [--json out.json]
//
// A new benchmark is one more entry in benchmarks(): its name, a description, and a
// function that registers its options on its subcommand and returns what runs it.
// (Planned: a1, a2, b, c, and all.)

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "bench_storage.hpp"

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

const std::map<std::string, benchmark>& benchmarks() {
  static const std::map<std::string, benchmark> all = {
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
  app.require_subcommand(1);
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
  std::cerr << app.help();
  return exit_usage;
}
