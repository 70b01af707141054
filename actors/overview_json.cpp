#include "actors/overview_json.hpp"

namespace ra::actors {

nlohmann::json to_json(const server_overview& o) {
  nlohmann::json members = nlohmann::json::array();
  for (auto& m : o.members) members.push_back({{"id", m.id.to_string()}, {"membership", to_string(m.kind)}});
  nlohmann::json j = {
    {"id", o.id.to_string()},
    {"cluster_name", o.cluster_name},
    {"role", to_string(o.server_role)},
    {"term", o.term.value},
    {"voted_for", o.voted_for.empty() ? "" : o.voted_for.to_string()},
    {"leader", o.leader.empty() ? "" : o.leader.to_string()},
    {"commit_index", o.commit_index.value},
    {"last_applied", o.last_applied.value},
    {"last_index", o.last_index.value},
    {"last_written_index", o.last_written_index.value},
    {"snapshot_index", o.snapshot_index.value},
    {"effective_machine_version", o.effective_machine_version},
    {"members", members},
  };
  // Ra's `machine` key: the machine's own overview (an object if it gave none).
  auto machine = nlohmann::json::parse(o.machine_overview, nullptr, /*allow_exceptions=*/false);
  j["machine"] = machine.is_discarded() ? nlohmann::json::object() : std::move(machine);
  if (!o.stop_reason.empty()) j["stop_reason"] = o.stop_reason;
  if (o.has_peers) {
    nlohmann::json ps = nlohmann::json::object();
    for (auto& p : o.peers)
      ps[p.id.to_string()] = {{"next_index", p.next_index.value},
                              {"match_index", p.match_index.value},
                              {"sending_snapshot", p.sending_snapshot}};
    j["peers"] = std::move(ps);
  }
  return j;
}

nlohmann::json to_json(const overview_result& r) {
  nlohmann::json j = r.has_core ? to_json(r.core) : nlohmann::json::object();
  j["uid"] = r.uid;
  j["behaviour"] = r.has_core ? to_string(r.core.server_role) : "follower";
  j["cluster_name"] = r.cluster_name;
  if (!r.has_core) j["machine"] = nlohmann::json::object();
  j["machine_name"] = r.machine;
  return j;
}

}  // namespace ra::actors
