#pragma once
// ra-bench dist: one cluster across three node processes, plain TCP vs mutual TLS
// (bench_dist.cpp).

#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

namespace ra::bench {

struct dist_options {
  double seconds = 5;
  int rounds = 3;
  size_t window = 1000;
  size_t payload = 16;
  std::string data_dir = "/tmp";
  std::string log_level = "warn";
  size_t scheduler_threads = 2;
  // node process mode (internal)
  std::string node;
  std::string dir;
  std::string peers;
  std::string certs;
};

void add_dist_options(CLI::App& sub, dist_options& o);
int run_dist_bench(const dist_options& o);

}  // namespace ra::bench
