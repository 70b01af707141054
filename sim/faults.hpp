#pragma once
// Fault injection for the simulator: partitions (symmetric and one-way), crashes and
// restarts, slow disks, detector false alarms, and the operator's disruptions:
// membership changes (keeping at least 3 voters), leadership transfers and forced
// elections. Which faults happen, and how often, is drawn from the seed.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/cluster.hpp"
#include "sim/rng.hpp"

namespace ra::sim {

enum class fault_kind : uint8_t {
  partition,
  one_way_cut,
  crash,
  slow_disk,
  membership,
  transfer_leadership,
  trigger_election,
  false_alarm,
};
inline constexpr size_t fault_kind_count = 8;
const char* to_string(fault_kind k);

struct fault_profile {
  /// Relative weights per fault_kind (0 = never).
  std::array<uint32_t, fault_kind_count> weights{};
  int64_t min_gap_ms = 100;  ///< between two injections
  int64_t max_gap_ms = 1500;
  int64_t min_duration_ms = 100;  ///< how long partitions, crashes and slow disks last
  int64_t max_duration_ms = 3000;
  int max_crashed = 1;
  /// Chance, after each event, to crash the member it touched right there: crash points
  /// spread over steps rather than time, so they land inside elections and replication
  /// rounds (between a vote and the next message, an append and its sync ...).
  double crash_after_event = 0;
  disk_profile slow_disk{5, 200, 0};

  bool any() const;
  /// A random profile: each kind on or off with a random weight.
  static fault_profile random(rng& r, int servers);
  std::string describe() const;
};

struct fault_stats {
  std::array<uint64_t, fault_kind_count> injected{};
  uint64_t membership_ok = 0;
  uint64_t membership_refused = 0;
};

class fault_injector {
 public:
  /// Client refs of the injector's own requests (membership, transfers) start here.
  static constexpr uint64_t ref_base = uint64_t{1} << 62;

  fault_injector(sim_cluster& cluster, rng r, fault_profile profile, disk_profile normal_disk);

  void start();
  /// Stops injecting and undoes every fault: restarts crashed members, heals the network,
  /// restores disks. (The network profile is the caller's business.)
  void heal();
  /// Replies to the injector's own requests.
  void on_client_action(int node, const ra::action& a);
  /// Called after every event with the members it touched (may crash one of them).
  void after_event(const std::vector<int>& touched);

  const fault_stats& stats() const { return stats_; }

 private:
  void schedule_next();
  void inject(fault_kind k);
  void partition();
  void one_way_cut();
  void crash();
  void crash_member(int victim);
  int crashed_count() const;
  void slow_disk();
  void change_membership();
  void transfer_leadership();
  void trigger_election();
  void false_alarm();
  void heal_network_later(int64_t ms);
  std::vector<int> members(bool running_only) const;
  void log(const std::string& what) const;

  sim_cluster& cluster_;
  rng rng_;
  fault_profile profile_;
  disk_profile normal_disk_;
  fault_stats stats_;
  bool active_ = false;
  uint64_t network_generation_ = 0;
  uint64_t next_ref_ = ref_base;
};

}  // namespace ra::sim
