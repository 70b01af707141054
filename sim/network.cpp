#include "sim/network.hpp"

namespace ra::sim {

void network::partition(const std::vector<int>& a, const std::vector<int>& b) {
  for (int x : a)
    for (int y : b) {
      cut(x, y);
      cut(y, x);
    }
}

std::string network::describe_cuts() const {
  std::string out;
  for (const auto& [from, to] : cut_) {
    if (!out.empty())
      out += ' ';
    out += std::to_string(from) + "->" + std::to_string(to);
  }
  return out.empty() ? "none" : out;
}

std::vector<int64_t> network::plan_delivery(rng& r) const {
  std::vector<int64_t> delays;
  if (r.chance(profile_.loss))
    return delays;
  const int copies = r.chance(profile_.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int64_t d = r.between(profile_.min_delay_ms, profile_.max_delay_ms);
    if (profile_.long_delay_chance > 0 && r.chance(profile_.long_delay_chance))
      d = r.between(profile_.max_delay_ms, profile_.long_delay_max_ms);
    delays.push_back(d);
  }
  return delays;
}

}  // namespace ra::sim
