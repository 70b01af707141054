#include "ra/cluster.hpp"

#include <algorithm>

namespace ra {

cluster_config::cluster_config(std::vector<member> members) : members_(std::move(members)) {
  std::sort(members_.begin(), members_.end(), [](const member& a, const member& b) { return a.id < b.id; });
  members_.erase(std::unique(members_.begin(), members_.end(),
                             [](const member& a, const member& b) { return a.id == b.id; }),
                 members_.end());
}

const member* cluster_config::find(const server_id& id) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), id,
                             [](const member& m, const server_id& x) { return m.id < x; });
  return it != members_.end() && it->id == id ? &*it : nullptr;
}

bool cluster_config::is_voter(const server_id& id) const {
  auto m = find(id);
  return m && m->kind == membership::voter;
}

size_t cluster_config::voter_count() const {
  return static_cast<size_t>(std::count_if(members_.begin(), members_.end(),
                                           [](const member& m) { return m.kind == membership::voter; }));
}

cluster_config cluster_config::with(member m) const {
  auto ms = members_;
  std::erase_if(ms, [&](const member& x) { return x.id == m.id; });
  ms.push_back(std::move(m));
  return cluster_config{std::move(ms)};
}

cluster_config cluster_config::without(const server_id& id) const {
  auto ms = members_;
  std::erase_if(ms, [&](const member& x) { return x.id == id; });
  return cluster_config{std::move(ms)};
}

}  // namespace ra
