#include "wal/config_store.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "wal/crc32c.hpp"

namespace ra::storage {

namespace {

constexpr const char* crc_prefix = "#crc32c=";

nlohmann::json member_json(const member& m) {
  return {{"name", m.id.name}, {"node", m.id.node}, {"membership", static_cast<int>(m.kind)}};
}

nlohmann::json to_json(const persisted_server_config& c) {
  auto& s = c.server;
  nlohmann::json members = nlohmann::json::array();
  for (auto& m : s.initial_members) members.push_back(member_json(m));
  return {
    {"version", 1},
    {"uid", c.uid},
    {"machine", c.machine},
    {"machine_args", c.machine_args},
    {"id", {{"name", s.id.name}, {"node", s.id.node}}},
    {"cluster_name", s.cluster_name},
    {"initial_members", members},
    {"broadcast_time_ms", s.broadcast_time_ms},
    {"detector_poll_ms", s.detector_poll_ms},
    {"tick_timeout_ms", s.tick_timeout_ms},
    {"await_condition_timeout_ms", s.await_condition_timeout_ms},
    {"receive_snapshot_timeout_ms", s.receive_snapshot_timeout_ms},
    {"max_pipeline_count", s.max_pipeline_count},
    {"max_append_entries_rpc_batch_size", s.max_append_entries_rpc_batch_size},
    {"low_priority_commands_flush_size", s.low_priority_commands_flush_size},
    {"snapshot_chunk_size", s.snapshot_chunk_size},
    {"min_snapshot_interval", s.min_snapshot_interval},
  };
}

persisted_server_config from_json(const nlohmann::json& j) {
  persisted_server_config c;
  c.uid = j.at("uid").get<std::string>();
  c.machine = j.at("machine").get<std::string>();
  c.machine_args = j.at("machine_args").get<std::string>();
  auto& s = c.server;
  s.id = server_id{j.at("id").at("name").get<std::string>(), j.at("id").at("node").get<std::string>()};
  s.cluster_name = j.at("cluster_name").get<std::string>();
  for (auto& m : j.at("initial_members"))
    s.initial_members.push_back(member{server_id{m.at("name").get<std::string>(), m.at("node").get<std::string>()},
                                       static_cast<membership>(m.at("membership").get<int>()), index_t{0}});
  s.broadcast_time_ms = j.at("broadcast_time_ms").get<uint64_t>();
  s.detector_poll_ms = j.at("detector_poll_ms").get<uint64_t>();
  s.tick_timeout_ms = j.at("tick_timeout_ms").get<uint64_t>();
  s.await_condition_timeout_ms = j.at("await_condition_timeout_ms").get<uint64_t>();
  s.receive_snapshot_timeout_ms = j.at("receive_snapshot_timeout_ms").get<uint64_t>();
  s.max_pipeline_count = j.at("max_pipeline_count").get<uint32_t>();
  s.max_append_entries_rpc_batch_size = j.at("max_append_entries_rpc_batch_size").get<uint32_t>();
  s.low_priority_commands_flush_size = j.at("low_priority_commands_flush_size").get<uint32_t>();
  s.snapshot_chunk_size = j.at("snapshot_chunk_size").get<uint64_t>();
  s.min_snapshot_interval = j.at("min_snapshot_interval").get<uint64_t>();
  return c;
}

}  // namespace

bool persisted_server_config::operator==(const persisted_server_config& o) const {
  return to_json(*this) == to_json(o);
}

io_status save_server_config(file_system& fs, const std::string& dir, const persisted_server_config& c) {
  auto text = to_json(c).dump(2) + "\n";
  char crc[32];
  std::snprintf(crc, sizeof crc, "%s%08x\n", crc_prefix, crc32c(text.data(), text.size()));
  text += crc;
  if (auto st = fs.create_directories(dir); !st) return st;
  return write_file_atomically(fs, dir + "/config", std::span<const char>{text.data(), text.size()});
}

io_result<persisted_server_config> load_server_config(file_system& fs, const std::string& dir) {
  auto path = dir + "/config";
  auto data = read_file(fs, path);
  if (!data) return data.error();
  std::string text(data->begin(), data->end());
  auto bad = [&](const std::string& why) { return io_error{EILSEQ, "read", path + ": " + why}; };
  auto pos = text.rfind(crc_prefix);
  if (pos == std::string::npos) return bad("no checksum line");
  auto body = text.substr(0, pos);
  unsigned stored = 0;
  if (std::sscanf(text.c_str() + pos + std::char_traits<char>::length(crc_prefix), "%8x", &stored) != 1)
    return bad("unreadable checksum");
  if (crc32c(body.data(), body.size()) != stored) return bad("checksum mismatch");
  try {
    return from_json(nlohmann::json::parse(body));
  } catch (const std::exception& e) {
    return bad(std::string("invalid content: ") + e.what());
  }
}

}  // namespace ra::storage
