#pragma once
// One ra-node process of a nemesis run: its config file, data dir and log, and the faults
// the nemesis does to it as a process (kill -9, SIGSTOP / SIGCONT) or to its disk (the
// node's test-only disk-fault switch file, ra/node.hpp "test_disk_faults_file").

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace ra::nemesis {

struct node_process {
  std::string name;             ///< the node's name (n1 ...)
  std::filesystem::path dir;    ///< config, data, log, port file and disk switch live here
  uint16_t port = 0;            ///< its fixed listen port (kept across restarts)
  pid_t pid = -1;
  bool paused = false;
  uint64_t starts = 0;

  std::filesystem::path data_dir() const { return dir / "data"; }
  std::filesystem::path config_file() const { return dir / "node.json"; }
  std::filesystem::path log_file() const { return dir / "node.log"; }
  std::filesystem::path port_file() const { return dir / "port"; }
  std::filesystem::path disk_switch() const { return dir / "disk"; }

  /// Writes the node's config: listen on `port`, the peers at `peer_ports` (the proxies
  /// in front of them), fast failure detection, the disk switch.
  void write_config(const std::map<std::string, uint16_t>& peer_ports) const;
  /// Starts `ra_node` on the config (stderr and stdout appended to the log) and waits for
  /// its port file. Throws std::runtime_error if it exits or takes longer than `limit`.
  void start(const std::string& ra_node, std::chrono::milliseconds limit);
  /// kill -9 and reap.
  void kill9();
  /// SIGTERM, wait up to `limit`, then kill -9.
  void stop(std::chrono::milliseconds limit);
  void pause();
  void resume();
  bool running() const { return pid > 0; }
  /// Sets the disk switch: "ok", "full" (writes fail with ENOSPC) or "slow MS" (every sync
  /// takes MS longer).
  void set_disk(const std::string& mode) const;
  /// True if the process has exited on its own (reaped; pid cleared).
  bool exited();
};

}  // namespace ra::nemesis
