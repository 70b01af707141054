#pragma once
// The runtime workloads of ra-bench (a1, a2, b, c, all): each returns its figures as
// JSON and has a report function that prints them against the raw disk limits and the
// targets (see docs/benchmarks.md).

#include <string>

#include "tools/ra-bench/bench_common.hpp"

namespace ra::bench {

json run_a1(const run_options& o, run_frame& frame);
std::string report_a1(const json& r, const raw_limits& raw);
json run_a2(const run_options& o, run_frame& frame);
std::string report_a2(const json& r, const raw_limits& raw);
json run_b(const run_options& o, run_frame& frame);
std::string report_b(const json& r);
json run_c(const run_options& o, run_frame& frame);
std::string report_c(const json& r);
/// `ra-bench c --phase write|recover`: the child processes of workload C.
int run_c_child(const run_options& o);

/// Runs `workloads` (a subset of a1, a2, b, c, in that order) in one run: raw disk
/// limits before, the workloads, raw limits after, the table on stdout, the JSON file.
/// Returns the exit status.
int run_workloads(const std::vector<std::string>& workloads, const run_options& o);

}  // namespace ra::bench
