#include "wal/config_store.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/crc32c.hpp"

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

namespace {

std::string encode_config(const persisted_server_config& c) {
  auto text = to_json(c).dump(2) + "\n";
  char crc[32];
  std::snprintf(crc, sizeof crc, "%s%08x\n", crc_prefix, crc32c(text.data(), text.size()));
  return text + crc;
}

std::string parent_of(const std::string& dir) {
  auto end = dir.find_last_not_of('/');
  if (end == std::string::npos) return "/";
  auto slash = dir.find_last_of('/', end);
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

/// Files held open at once by one round (bounds the descriptors a big batch needs).
constexpr size_t round_size = 256;

io_status save_round(file_system& fs, std::span<const server_config_item> items) {
  // 1. Directories (remembering which are new: their entry in the parent must be synced
  //    too, or a crash could lose the whole directory with its synced config inside).
  std::vector<std::string> new_parents;
  for (auto& it : items) {
    if (fs.exists(it.dir)) continue;
    if (auto st = fs.create_directories(it.dir); !st) return st;
    new_parents.push_back(parent_of(it.dir));
  }
  // 2. Every temp file written, then every one synced: the first fdatasync commits the
  //    journal with all of them (ext4/xfs), so the others return almost at once. Each
  //    file is still synced on its own, so this is correct on any POSIX file system.
  std::vector<std::unique_ptr<file>> files;
  files.reserve(items.size());
  for (auto& it : items) {
    auto text = encode_config(*it.config);
    auto f = fs.open(it.dir + "/config.tmp", {open_mode::create});
    if (!f) return f.error();
    if (auto st = (*f)->write(std::span<const char>{text.data(), text.size()}); !st) return st;
    files.push_back(std::move(*f));
  }
  for (auto& f : files)
    if (auto st = f->sync(sync_method::datasync); !st) return st;
  files.clear();  // closed before the renames
  // 3. Renames: until its directory is synced a crash may leave the old name, whose
  //    file (old config or none) is intact; the temp file is ignored and overwritten.
  for (auto& it : items)
    if (auto st = fs.rename(it.dir + "/config.tmp", it.dir + "/config"); !st) return st;
  // 4. The renames and the new directories made durable, each directory once.
  std::vector<std::string> dirs;
  for (auto& it : items) dirs.push_back(it.dir);
  std::sort(new_parents.begin(), new_parents.end());
  new_parents.erase(std::unique(new_parents.begin(), new_parents.end()), new_parents.end());
  for (auto& d : dirs)
    if (auto st = fs.sync_directory(d); !st) return st;
  for (auto& d : new_parents)
    if (auto st = fs.sync_directory(d); !st) return st;
  return io_ok();
}

}  // namespace

io_status save_server_configs(file_system& fs, std::span<const server_config_item> items) {
  for (size_t at = 0; at < items.size(); at += round_size)
    if (auto st = save_round(fs, items.subspan(at, std::min(round_size, items.size() - at))); !st) return st;
  return io_ok();
}

io_status save_server_config(file_system& fs, const std::string& dir, const persisted_server_config& c) {
  server_config_item item{dir, &c};
  return save_server_configs(fs, std::span<const server_config_item>{&item, 1});
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
