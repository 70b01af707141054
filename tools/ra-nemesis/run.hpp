#pragma once
// One nemesis run: start the nodes and a kv cluster on them, run the clients under the
// faults for the run's seconds, heal everything, then check: a leader serves again within
// a bound, every register history is linearizable (lincheck), every acknowledged set add
// is on every member, and all members converge to the same values.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/ra-nemesis/workload.hpp"

namespace ra::nemesis {

struct run_options {
  int nodes = 3;
  int clients = 5;
  int keys = 3;
  double seconds = 30;
  std::string ra_node;                 ///< the ra-node program
  std::filesystem::path work_dir;      ///< each run's nodes live in work_dir/seed-S
  std::filesystem::path history_dir;   ///< each run's histories go to history_dir/seed-S
  std::vector<std::string> faults;     ///< the kinds to inject (nemesis.hpp)
  bool keep = false;                   ///< keep the nodes' dirs of passed runs too
  std::chrono::milliseconds op_timeout{1000};
  double check_timeout_seconds = 120;  ///< lincheck's limit per history
  std::string reads = "mixed";         ///< workload_options::reads
};

struct run_report {
  uint64_t seed = 0;
  bool passed = false;
  std::vector<std::string> problems;
  op_counts ops;
  std::map<std::string, uint64_t> faults;
  std::vector<std::string> fault_log;
  /// The longest time from a leader's loss (kill, pause, isolation) to the next ok write
  /// or cas invoked after it, as the clients saw it.
  std::optional<double> max_unavailable_ms;
  double recovery_ms = 0;       ///< from the final heal to the first ok write
  double slowest_check_ms = 0;  ///< lincheck's longest decision in this run
  std::filesystem::path history_dir;
  std::vector<std::filesystem::path> node_logs;
};

run_report run_once(const run_options& o, uint64_t seed);

}  // namespace ra::nemesis
