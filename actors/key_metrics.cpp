#include "ra/key_metrics.hpp"

#include <map>
#include <mutex>

namespace ra::detail {

key_metrics_snapshot key_metrics_block::read() const {
  constexpr auto o = std::memory_order_relaxed;
  key_metrics_snapshot s;
#define RA_KEY_METRICS_LOAD(type, name, source, doc) s.name = name.load(o);
  RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_LOAD)
#undef RA_KEY_METRICS_LOAD
  s.running = running_actor.load() != 0;
  return s;
}

namespace {
struct table {
  std::mutex mx;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<key_metrics_block>> blocks;
};
table& the_table() {
  static table t;
  return t;
}
}  // namespace

std::shared_ptr<key_metrics_block> key_metrics_for(const std::string& node, const std::string& name,
                                                   const std::string& uid) {
  auto& t = the_table();
  std::lock_guard lk{t.mx};
  auto& b = t.blocks[{node, name}];
  if (!b) b = std::make_shared<key_metrics_block>();
  if (b->uid != uid) {
    constexpr auto o = std::memory_order_relaxed;
#define RA_KEY_METRICS_ZERO(type, name, source, doc) b->name.store(type{}, o);
    RA_KEY_METRICS_FIELDS(RA_KEY_METRICS_ZERO)
#undef RA_KEY_METRICS_ZERO
    b->uid = uid;
  }
  return b;
}

void key_metrics_block::mark_stopped(uint64_t actor_id) {
  running_actor.compare_exchange_strong(actor_id, 0);
}

std::shared_ptr<key_metrics_block> find_key_metrics(const std::string& node, const std::string& name) {
  auto& t = the_table();
  std::lock_guard lk{t.mx};
  auto it = t.blocks.find({node, name});
  return it == t.blocks.end() ? nullptr : it->second;
}

void visit_key_metrics(const std::string& node,
                       const std::function<void(const std::string& name, const key_metrics_block&)>& visit) {
  auto& t = the_table();
  std::lock_guard lk{t.mx};
  for (auto it = t.blocks.lower_bound({node, std::string{}}); it != t.blocks.end() && it->first.first == node; ++it)
    visit(it->first.second, *it->second);
}

}  // namespace ra::detail
