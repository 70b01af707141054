#include "actors/key_metrics.hpp"

#include <map>
#include <mutex>

namespace ra::detail {

key_metrics_snapshot key_metrics_block::read() const {
  constexpr auto o = std::memory_order_relaxed;
  key_metrics_snapshot s;
  s.commands = commands.load(o);
  s.elections = elections.load(o);
  s.term = term.load(o);
  s.commit_index = commit_index.load(o);
  s.last_applied = last_applied.load(o);
  s.last_index = last_index.load(o);
  s.last_written_index = last_written_index.load(o);
  s.snapshot_index = snapshot_index.load(o);
  s.snapshots_written = snapshots_written.load(o);
  s.checkpoints_written = checkpoints_written.load(o);
  s.effective_machine_version = effective_machine_version.load(o);
  s.state = static_cast<role>(state.load(o));
  s.running = running.load(o);
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

std::shared_ptr<key_metrics_block> key_metrics_for(const std::string& node, const std::string& name) {
  auto& t = the_table();
  std::lock_guard lk{t.mx};
  auto& b = t.blocks[{node, name}];
  if (!b) b = std::make_shared<key_metrics_block>();
  return b;
}

std::shared_ptr<key_metrics_block> find_key_metrics(const std::string& node, const std::string& name) {
  auto& t = the_table();
  std::lock_guard lk{t.mx};
  auto it = t.blocks.find({node, name});
  return it == t.blocks.end() ? nullptr : it->second;
}

}  // namespace ra::detail
