// ra-nemesis: end-to-end fault tests across real processes (docs/nemesis.md). Starts N
// ra-node processes on 127.0.0.1 with every node-to-node link behind a TCP proxy of its
// own, runs a kv cluster on them with K clients doing read / write / cas, injects faults
// drawn from the seed (kill -9, SIGSTOP, partitions, delays, leader transfers, membership
// changes, full and slow disks), heals, and checks every history with lincheck.
//
//   ra-nemesis [--runs N] [--seconds S] [--seed X] [--history-dir DIR] [--nodes 3|5] ...
//
// Run r uses seed X + r. The last line is `runs: N passed, M failed`. Exit status: 0 all
// runs passed, 1 some failed, 2 bad command line.

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include <CLI/CLI.hpp>

#include "tools/ra-nemesis/nemesis.hpp"
#include "ra/node.hpp"
#include "ra/version.hpp"
#include "tools/ra-nemesis/run.hpp"

namespace {

namespace fs = std::filesystem;

std::string self_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"."} : p.parent_path().string();
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in{text};
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ra-nemesis: end-to-end fault tests of ra-node processes, histories checked for linearizability"};
  app.set_version_flag("--version", "ra-nemesis " RA_VERSION_STRING);
  int runs = 1;
  double seconds = 30;
  uint64_t seed = 1;
  std::string history_dir = "nemesis-histories", work_dir, ra_node = self_dir() + "/ra-node", faults = "all";
  ra::nemesis::run_options o;
  app.add_option("--runs", runs, "number of runs (run r uses seed + r)")->check(CLI::PositiveNumber);
  app.add_option("--seconds", seconds, "seconds of faults per run")->check(CLI::Range(2.0, 86400.0));
  app.add_option("--seed", seed, "seed of the first run");
  app.add_option("--history-dir", history_dir, "histories go to DIR/seed-S/rK.jepsen, with the fault log");
  app.add_option("--work-dir", work_dir, "the nodes' dirs (default: a temporary dir)");
  app.add_option("--nodes", o.nodes, "nodes in the cluster")->check(CLI::IsMember({3, 5}));
  app.add_option("--clients", o.clients, "concurrent clients")->check(CLI::Range(1, 64));
  app.add_option("--keys", o.keys, "registers")->check(CLI::Range(1, 64));
  app.add_option("--faults", faults, "comma-separated kinds: kill,pause,partition,delay,transfer,membership,disk, or all");
  app.add_option("--ra-node", ra_node, "the ra-node program (default: next to ra-nemesis)");
  app.add_option("--reads", o.reads,
                 "mixed (through the log and consistent queries), or local (stale reads from any member: "
                 "NOT linearizable, to show that the checks catch them)")
      ->check(CLI::IsMember({"mixed", "local"}));
  app.add_flag("--keep", o.keep, "keep the nodes' dirs of passed runs too");
  int op_timeout_ms = 1000;
  app.add_option("--op-timeout-ms", op_timeout_ms, "a client operation's timeout")->check(CLI::Range(50, 60000));
  app.add_option("--check-timeout", o.check_timeout_seconds, "lincheck's limit per history, seconds")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.seconds = seconds;
  o.op_timeout = std::chrono::milliseconds{op_timeout_ms};
  o.ra_node = ra_node;
  o.history_dir = history_dir;
  o.faults = faults == "all" ? ra::nemesis::all_fault_kinds() : split(faults);
  for (auto& f : o.faults) {
    const auto& all = ra::nemesis::all_fault_kinds();
    if (std::find(all.begin(), all.end(), f) == all.end()) {
      std::cerr << "ra-nemesis: unknown fault kind " << f << "\n";
      return 2;
    }
  }
  if (o.faults.empty()) {
    std::cerr << "ra-nemesis: --faults names no kind\n";
    return 2;
  }
  if (::access(ra_node.c_str(), X_OK) != 0) {
    std::cerr << "ra-nemesis: cannot run " << ra_node << " (give --ra-node)\n";
    return 2;
  }
  // The harness's client node logs errors only: node losses are what the faults are for.
  ra::log_to_stderr("error");
  const bool temp_work = work_dir.empty();
  o.work_dir = temp_work ? fs::temp_directory_path() / ("ra-nemesis-" + std::to_string(::getpid())) : fs::path{work_dir};

  int passed = 0, failed = 0;
  ra::nemesis::op_counts total;
  std::map<std::string, uint64_t> fault_total;
  double worst_unavailable = 0, worst_recovery = 0, slowest_check = 0;
  for (int r = 0; r < runs; ++r) {
    auto rep = ra::nemesis::run_once(o, seed + static_cast<uint64_t>(r));
    total.ok += rep.ops.ok, total.fail += rep.ops.fail, total.info += rep.ops.info;
    for (auto& [k, n] : rep.faults) fault_total[k] += n;
    worst_unavailable = std::max(worst_unavailable, rep.max_unavailable_ms.value_or(0));
    worst_recovery = std::max(worst_recovery, rep.recovery_ms);
    slowest_check = std::max(slowest_check, rep.slowest_check_ms);
    std::ostringstream faults_text;
    for (auto& [k, n] : rep.faults) faults_text << " " << k << "=" << n;
    std::cout << "run " << r + 1 << "/" << runs << " seed " << rep.seed << ": " << (rep.passed ? "passed" : "FAILED")
              << "; ops ok " << rep.ops.ok << " fail " << rep.ops.fail << " info " << rep.ops.info << "; faults"
              << faults_text.str() << "; longest unavailability after a leader loss "
              << (rep.max_unavailable_ms ? std::to_string(static_cast<int64_t>(*rep.max_unavailable_ms)) + " ms" : "-")
              << "; recovery after heal " << static_cast<int64_t>(rep.recovery_ms) << " ms; slowest check "
              << static_cast<int64_t>(rep.slowest_check_ms) << " ms" << std::endl;
    if (rep.passed) {
      ++passed;
      continue;
    }
    ++failed;
    std::cout << "  seed " << rep.seed << " failed (rerun: ra-nemesis --seed " << rep.seed << " --seconds " << seconds
              << " --nodes " << o.nodes << " --faults " << faults << " --reads " << o.reads << "):\n";
    for (auto& p : rep.problems) std::cout << "  problem: " << p << "\n";
    std::cout << "  fault schedule:\n";
    for (auto& line : rep.fault_log) std::cout << "    " << line << "\n";
    std::cout << "  histories: " << rep.history_dir.string() << "\n";
    for (auto& l : rep.node_logs) std::cout << "  node log: " << l.string() << "\n";
    std::cout << std::flush;
  }
  std::cout << "faults injected:";
  for (auto& [k, n] : fault_total) std::cout << " " << k << "=" << n;
  std::cout << "\noperations: ok " << total.ok << " fail " << total.fail << " info " << total.info
            << "; longest unavailability after a leader loss " << static_cast<int64_t>(worst_unavailable)
            << " ms; longest recovery after the final heal " << static_cast<int64_t>(worst_recovery)
            << " ms; slowest check " << static_cast<int64_t>(slowest_check) << " ms\n";
  std::cout << "runs: " << passed << " passed, " << failed << " failed" << std::endl;
  if (temp_work && failed == 0) {
    std::error_code ec;
    fs::remove_all(o.work_dir, ec);
  }
  return failed == 0 ? 0 : 1;
}
