#pragma once
// The faults of a run, drawn from its seed, and their execution against a cluster
// (cluster.hpp). One fault at a time: it starts, holds for its duration and is healed
// before the next one, so that every fault's effect is seen on its own and the log of a
// failing run reads as a schedule.

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tools/ra-nemesis/cluster.hpp"
#include "tools/ra-nemesis/workload.hpp"

namespace ra::nemesis {

/// The fault kinds, as named on the command line.
const std::vector<std::string>& all_fault_kinds();

struct fault_log_entry {
  wall_clock::time_point at;
  std::string text;
};

class nemesis {
 public:
  nemesis(cluster& c, std::vector<std::string> kinds, uint64_t seed);

  /// Injects faults until `until` (a fault is healed before it returns), then heals
  /// everything: nodes restarted and resumed, links and disks healed, every member back
  /// in the cluster.
  void run_until(std::chrono::steady_clock::time_point until);
  void heal_all();

  /// Faults injected, by kind ("kill", "kill-leader", "partition-halves" ...).
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  const std::vector<fault_log_entry>& log() const { return log_; }
  /// When the nemesis killed or paused a leader.
  const std::vector<wall_clock::time_point>& leader_losses() const { return leader_losses_; }
  /// Nodes that exited although the nemesis did not kill them (each a finding).
  const std::vector<std::string>& crashes() const { return crashes_; }

 private:
  void note(const std::string& kind, const std::string& text);
  int leader();  // node index, -1 if none known
  int pick_node();
  std::chrono::milliseconds pick(int lo_ms, int hi_ms);
  void hold(std::chrono::milliseconds d, std::chrono::steady_clock::time_point until);
  void hold_during_fault(std::chrono::milliseconds d, std::chrono::steady_clock::time_point until);
  bool enabled(const std::string& kind) const;
  void transfer_leader(const std::string& kind);
  void remove_one_member(const std::string& kind);
  void one_fault(std::chrono::steady_clock::time_point until);
  void restore_members();
  void check_crashes();

  cluster& c_;
  std::vector<std::string> kinds_;
  std::mt19937_64 rng_;
  std::map<std::string, uint64_t> counts_;
  std::vector<fault_log_entry> log_;
  std::vector<wall_clock::time_point> leader_losses_;
  std::vector<std::string> crashes_;
  std::vector<int> removed_;  // node indexes whose server was removed from the cluster
};

}  // namespace ra::nemesis
