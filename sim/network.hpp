#pragma once
// The simulated network between servers: per-message delay (which also reorders), loss,
// duplication, and cut links (a symmetric partition cuts both directions between two
// groups; an asymmetric fault cuts one direction).

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sim/rng.hpp"

namespace ra::sim {

struct network_profile {
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 5;
  double long_delay_chance = 0;  ///< probability a message takes up to long_delay_max_ms
  int64_t long_delay_max_ms = 0;
  double loss = 0;
  double duplicate = 0;
};

class network {
 public:
  void set_profile(const network_profile& p) { profile_ = p; }
  const network_profile& profile() const { return profile_; }

  bool link_up(int from, int to) const { return from == to || !cut_.contains({from, to}); }
  void cut(int from, int to) { cut_.insert({from, to}); }
  void restore(int from, int to) { cut_.erase({from, to}); }
  /// Cuts every link between the two groups, both ways.
  void partition(const std::vector<int>& a, const std::vector<int>& b);
  void heal() { cut_.clear(); }
  bool any_cut() const { return !cut_.empty(); }
  std::string describe_cuts() const;

  /// Delays (ms) of the copies of one message to deliver: none if lost, two if duplicated.
  std::vector<int64_t> plan_delivery(rng& r) const;

 private:
  network_profile profile_;
  std::set<std::pair<int, int>> cut_;  // directed (from, to)
};

}  // namespace ra::sim
