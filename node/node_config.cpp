// The node config from JSON (ra/node.hpp) and the built-in machines by name.

#include <cstdint>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "ra/machines/counter.hpp"
#include "ra/machines/fifo.hpp"
#include "ra/machines/kv.hpp"
#include "ra/node.hpp"
#include "ra/typed_machine.hpp"

namespace ra {

namespace {

/// A JSON object being read: typed fields by key, each checked; anything left unread is
/// an unknown key. Errors name the key path ("wal.sync_method").
class object_reader {
 public:
  object_reader(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail(where() + "must be an object");
  }

  bool has(const std::string& key) const { return j_.is_object() && j_.contains(key); }

  void string(const std::string& key, std::string& out) {
    if (auto* v = take(key)) {
      if (!v->is_string()) return fail(name(key) + " must be a string");
      out = v->get<std::string>();
    }
  }
  void boolean(const std::string& key, bool& out) {
    if (auto* v = take(key)) {
      if (!v->is_boolean()) return fail(name(key) + " must be true or false");
      out = v->get<bool>();
    }
  }
  template <class Int>
  void number(const std::string& key, Int& out, uint64_t min = 0, uint64_t max = std::numeric_limits<Int>::max()) {
    if (auto* v = take(key)) {
      if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
        return fail(name(key) + " must be a non-negative integer");
      auto n = v->get<uint64_t>();
      if (n < min || n > max)
        return fail(name(key) + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
      out = static_cast<Int>(n);
    }
  }
  const nlohmann::json* take(const std::string& key) {
    if (!j_.is_object() || !j_.contains(key)) return nullptr;
    read_.insert(key);
    return &j_.at(key);
  }
  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  /// Call last: unknown keys become an error.
  void finish() {
    if (!j_.is_object()) return;
    for (auto& [key, value] : j_.items())
      if (!read_.count(key)) fail("unknown key " + name(key));
  }
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  const std::string& error() const { return error_; }
  /// Errors of a nested reader become ours.
  void absorb(const object_reader& inner) {
    if (!inner.error().empty()) fail(inner.error());
  }

 private:
  std::string where() const { return path_.empty() ? "the config " : path_ + " "; }
  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> read_;
  std::string error_;
};

/// "host:port" (the host may be "[v6]").
bool parse_address(const std::string& s, std::pair<std::string, uint16_t>& out, bool allow_port_zero = false) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  auto host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  uint64_t port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<uint64_t>(c - '0');
    if (port > 65535) return false;
  }
  if (port == 0 && !allow_port_zero) return false;
  out = {host, static_cast<uint16_t>(port)};
  return true;
}

void read_wal(object_reader& top, node_config& out) {
  auto* j = top.take("wal");
  if (!j) return;
  object_reader r{*j, "wal"};
  auto& w = out.system.wal;
  r.number("max_size_bytes", w.wal_max_size_bytes);
  r.number("max_entries", w.wal_max_entries);
  r.number("max_batch_size", w.wal_max_batch_size, 1);
  r.number("max_batch_bytes", w.wal_max_batch_bytes, 1);
  r.boolean("compute_checksums", w.wal_compute_checksums);
  std::string sync;
  r.string("sync_method", sync);
  if (sync == "datasync") w.wal_sync_method = storage::sync_method::datasync;
  else if (sync == "sync") w.wal_sync_method = storage::sync_method::sync;
  else if (sync == "none") w.wal_sync_method = storage::sync_method::none;
  else if (!sync.empty()) r.fail("wal.sync_method must be datasync, sync or none");
  uint64_t window = static_cast<uint64_t>(w.wal_group_commit_window.count());
  r.number("group_commit_window_us", window, 0, 1'000'000);
  w.wal_group_commit_window = std::chrono::microseconds{window};
  uint64_t slow_ms = static_cast<uint64_t>(w.wal_slow_sync_threshold.count());
  r.number("slow_sync_threshold_ms", slow_ms, 0, 3'600'000);
  w.wal_slow_sync_threshold = std::chrono::milliseconds{slow_ms};
  r.finish();
  top.absorb(r);
}

void read_segments(object_reader& top, node_config& out) {
  auto* j = top.take("segments");
  if (!j) return;
  object_reader r{*j, "segments"};
  r.number("max_entries", out.system.segments.segment_max_entries, 1);
  r.number("max_size_bytes", out.system.segments.segment_max_size_bytes, 1);
  r.finish();
  top.absorb(r);
}

void read_server(object_reader& top, node_config& out) {
  auto* j = top.take("server");
  if (!j) return;
  object_reader r{*j, "server"};
  auto& s = out.system.server_defaults;
  r.number("broadcast_time_ms", s.broadcast_time_ms, 1);
  r.number("detector_poll_ms", s.detector_poll_ms, 1);
  r.number("tick_timeout_ms", s.tick_timeout_ms, 1);
  r.number("max_command_bytes", s.max_command_bytes, 1);
  r.number("snapshot_chunk_size", s.snapshot_chunk_size, 1);
  r.number("min_snapshot_interval", s.min_snapshot_interval);
  r.number("min_checkpoint_interval", s.min_checkpoint_interval);
  r.number("max_pipeline_count", s.max_pipeline_count, 1);
  r.number("max_append_entries_rpc_batch_size", s.max_append_entries_rpc_batch_size, 1);
  r.finish();
  top.absorb(r);
}

void read_tls(object_reader& top, node_config& out) {
  auto* j = top.take("tls");
  if (!j) return;
  object_reader r{*j, "tls"};
  r.string("certificate", out.system.tls_certificate);
  r.string("key", out.system.tls_key);
  r.string("ca_file", out.system.tls_ca_file);
  r.string("passphrase", out.system.tls_passphrase);
  r.finish();
  top.absorb(r);
}

void read_peers(object_reader& top, node_config& out) {
  auto* j = top.take("peers");
  if (!j) return;
  if (!j->is_object()) return top.fail("peers must be an object: {\"node\": \"host:port\", ...}");
  for (auto& [node, address] : j->items()) {
    std::pair<std::string, uint16_t> a;
    if (node.empty() || !address.is_string() || !parse_address(address.get<std::string>(), a))
      return top.fail("peers." + node + " must be \"host:port\" (port 1..65535)");
    out.system.peers[node] = a;
  }
}

void read_log(object_reader& top, node_config& out) {
  auto* j = top.take("log");
  if (!j) return;
  object_reader r{*j, "log"};
  auto& l = out.log;
  r.string("level", l.level);
  r.string("sink", l.sink);
  r.string("file", l.file);
  r.number("max_file_bytes", l.max_file_bytes, 1);
  r.number("max_files", l.max_files, 0, 1000);
  r.string("syslog_ident", l.syslog_ident);
  r.string("format", l.format);
  r.finish();
  top.absorb(r);
}

void read_machines(object_reader& top, node_config& out) {
  auto all = builtin_machines();
  std::vector<std::string> chosen;
  if (auto* j = top.take("machines")) {
    if (!j->is_array()) return top.fail("machines must be a list of built-in machine names");
    for (auto& m : *j) {
      if (!m.is_string() || !all.count(m.get<std::string>()))
        return top.fail("machines: unknown built-in machine " + m.dump() + " (counter, kv, fifo)");
      chosen.push_back(m.get<std::string>());
    }
  } else {
    for (auto& [name, f] : all) chosen.push_back(name);
  }
  for (auto& name : chosen) out.system.machines[name] = all[name];
}

}  // namespace

std::map<std::string, machine_factory> builtin_machines() {
  return {
    {"counter", [](const std::string&) { return make_machine<machines::counter>(); }},
    {"kv", [](const std::string&) { return machines::make_kv_machine(); }},
    {"fifo", [](const std::string&) { return machines::make_fifo_machine(); }},
  };
}

expected<node_config, std::string> parse_node_config(const nlohmann::json& j) {
  node_config out;
  auto& sys = out.system;
  sys.distributed = true;
  object_reader r{j, ""};
  if (!r.error().empty()) return unexpected(r.error());
  if (!r.has("name")) return unexpected(std::string("name is missing (the node name)"));
  if (!r.has("data_dir")) return unexpected(std::string("data_dir is missing"));
  r.string("name", sys.name);
  r.string("data_dir", sys.data_dir);
  if (r.error().empty() && sys.name.empty()) r.fail("name must not be empty");
  if (r.error().empty() && sys.data_dir.empty()) r.fail("data_dir must not be empty");
  r.string("listen_host", sys.listen_host);
  r.number("listen_port", sys.listen_port);
  r.boolean("allow_insecure_remote", sys.allow_insecure_remote);
  r.boolean("allow_unsafe_sync_none", sys.allow_unsafe_sync_none);
  r.string("log_level", out.log.level);
  read_log(r, out);
  r.string("port_file", out.port_file);
  r.boolean("restart_servers", out.restart_servers);
  r.string("metrics_listen", out.metrics_listen);
  r.string("test_disk_faults_file", out.test_disk_faults_file);
  if (std::pair<std::string, uint16_t> a; !out.metrics_listen.empty() && !parse_address(out.metrics_listen, a, true))
    r.fail("metrics_listen must be \"host:port\" (port 0..65535; 0 picks a free one)");
  r.number("node_ping_interval_ms", sys.node_ping_interval_ms, 1);
  r.number("node_down_after_ms", sys.node_down_after_ms, 1);
  r.number("scheduler_threads", sys.scheduler_threads, 1, 256);
  r.number("max_wire_field_bytes", sys.max_wire_field_bytes, 1);
  read_peers(r, out);
  read_tls(r, out);
  read_machines(r, out);
  read_wal(r, out);
  read_segments(r, out);
  read_server(r, out);
  r.finish();
  if (!r.error().empty()) return unexpected(r.error());
  if (auto logging = validate(out.log); !logging) return unexpected(logging.error());
  return out;
}

expected<node_config, std::string> load_node_config(const std::string& path) {
  std::ifstream in{path};
  if (!in) return unexpected("cannot read config file " + path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    return unexpected("config file " + path + " is not valid JSON: " + e.what());
  }
  auto cfg = parse_node_config(j);
  if (!cfg) return unexpected("config file " + path + ": " + cfg.error());
  return cfg;
}

}  // namespace ra
