#pragma once
// A node as a program (Ra's node running ra_system, as a process of its own): the
// configuration of one node from JSON, the built-in machines by name, and a foreground
// run loop that stops cleanly on SIGTERM / SIGINT. `ra-node` (tools/ra_node.cpp) is
// this with the built-in machines; a program with machines of its own does the same:
//
//   int main(int argc, char** argv) {
//     auto cfg = ra::load_node_config(argv[1]);               // expected<node_config, std::string>
//     if (!cfg) return std::fprintf(stderr, "%s\n", cfg.error().c_str()), 2;
//     cfg->system.machines["mine"] = [](const std::string&) { return ra::make_machine<mine>(); };
//     return ra::run_node(std::move(*cfg));
//   }
//
// The JSON format (every key but name and data_dir optional; unknown keys are errors):
//   { "name": "n1", "data_dir": "/var/lib/ra/n1",
//     "listen_host": "127.0.0.1", "listen_port": 7001,
//     "peers": { "n2": "10.0.0.2:7001", "n3": "10.0.0.3:7001" },
//     "tls": { "certificate": "n1.pem", "key": "n1.key", "ca_file": "ca.pem", "passphrase": "" },
//     "allow_insecure_remote": false,
//     "machines": ["counter", "kv", "fifo"],             // built-ins hosted (default: all)
//     "log_level": "info",                               // trace debug info warn error critical off
//     "log": { "level": "info", "sink": "stderr" | "file" | "syslog", "file": "/var/log/ra/n1.log",
//              "max_file_bytes": 10485760, "max_files": 5, "syslog_ident": "ra",
//              "format": "text" | "json" },              // ra/logging.hpp; log_level = log.level
//     "port_file": "",                                   // the listen port is written here
//     "metrics_listen": "",                              // "host:port": Prometheus /metrics (off)
//     "test_disk_faults_file": "",                       // TEST ONLY: disk faults (below)
//     "node_ping_interval_ms": 1000, "node_down_after_ms": 3000, "scheduler_threads": 2,
//     "max_wire_field_bytes": 68157440, "allow_unsafe_sync_none": false,
//     "wal": { "max_size_bytes", "max_entries", "max_batch_size", "max_batch_bytes",
//              "sync_method": "datasync" | "sync" | "none", "compute_checksums",
//              "group_commit_window_us", "slow_sync_threshold_ms" },
//     "segments": { "max_entries", "max_size_bytes" },
//     "server": { "broadcast_time_ms", "detector_poll_ms", "tick_timeout_ms",
//                 "max_command_bytes", "snapshot_chunk_size", "min_snapshot_interval",
//                 "min_checkpoint_interval", "max_pipeline_count",
//                 "max_append_entries_rpc_batch_size" } }
// A node config is always distributed (the io middleman is loaded).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ra/expected.hpp"
#include "ra/machine.hpp"
#include "ra/result.hpp"
#include "ra/system.hpp"

namespace ra {

/// A node run as a process (ra-node): its system and what the process adds.
struct node_config {
  /// The system: name, data dir, distribution (always on), TLS, WAL, server defaults, and
  /// the machines (the chosen built-ins; add your own before run_node / start_node).
  system_config system;
  /// Where the node logs (ra/logging.hpp; run_node applies it before starting).
  log_config log;
  /// If set, the port the node listens on is written there (one line) once it is published.
  std::string port_file;
  /// "host:port" where run_node serves Prometheus metrics at /metrics (ra/prometheus.hpp;
  /// port 0 picks a free one, logged at start); "" (the default) serves none.
  std::string metrics_listen;
  /// TEST ONLY (tools/ra-nemesis): if set, the node's files go through a fault-injecting
  /// layer whose mode is read from this file every 50 ms: `ok` (or no file), `full` (every
  /// write fails with ENOSPC) or `slow MS` (every sync takes MS longer). It adds a lock
  /// around every file operation: never set it in production.
  std::string test_disk_faults_file;
  /// Restart every server the data dir knows when the node starts (Ra restarts a node's
  /// servers with the system).
  bool restart_servers = true;
};

/// The built-in machines by name: "counter" (ra/machines/counter.hpp), "kv"
/// (ra/machines/kv.hpp), "fifo" (ra/machines/fifo.hpp).
std::map<std::string, machine_factory> builtin_machines();

/// Reads a node config from JSON (format above). The error names the key that is wrong.
expected<node_config, std::string> parse_node_config(const nlohmann::json& j);
/// Reads the file at `path` (JSON) with parse_node_config.
expected<node_config, std::string> load_node_config(const std::string& path);

/// Sets spdlog's default logger to stderr at `level` (trace, debug, info, warn, error,
/// critical, off). False for an unknown level.
bool log_to_stderr(const std::string& level);

/// Starts the node's system (distributed, io middleman loaded), restarts the servers it
/// knows (if restart_servers; one that fails is logged and skipped) and writes port_file.
result<std::unique_ptr<system>> start_node(node_config cfg);

/// Runs the node in the foreground until SIGTERM or SIGINT, then stops it cleanly. Blocks
/// both signals in the calling thread first (call it before starting threads, so that
/// every thread inherits the mask). Logs as cfg.log says. Returns the process exit code: 0
/// after a clean stop, 1 if the node did not start (the reason is logged).
int run_node(node_config cfg);

}  // namespace ra
