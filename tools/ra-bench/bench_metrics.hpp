#pragma once
// ra-bench metrics: what Ra's Prometheus metrics (ra/prometheus.hpp) cost. A scrape of
// /metrics over HTTP with --clusters 3-member clusters running (time, bytes, samples),
// then A2 (1 cluster of 3, pipelined 16 B commands) without and with the endpoint being
// scraped every --scrape-interval-ms, alternating, --rounds times each in the same run.

#include <CLI/CLI.hpp>

#include "tools/ra-bench/bench_common.hpp"

namespace ra::bench {

struct metrics_bench_options {
  run_options run;
  size_t clusters = 3334;  ///< 10,002 servers
  size_t scrapes = 3;
  size_t rounds = 3;
  size_t scrape_interval_ms = 1000;
  /// Idle 3-member clusters beside A2's (each scrape then covers them too): the cost of
  /// metrics for a node that runs many servers, not just A2's three.
  size_t a2_idle_clusters = 0;
};

void add_metrics_options(CLI::App& sub, metrics_bench_options& o);
int run_metrics_bench(const metrics_bench_options& o);

}  // namespace ra::bench
