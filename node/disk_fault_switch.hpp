#pragma once
// The node program's test-only disk faults (node config "test_disk_faults_file", for the
// nemesis of tools/ra-nemesis): the node's files go through a fault-injecting layer whose
// mode is read from a small control file every 50 ms, so that a harness outside the
// process can make the disk full or slow and well again while the node runs.
//
// The control file holds one line: `ok` (or no file), `full` (every write, and every
// create, fails with ENOSPC) or `slow MS` (every file or directory sync takes MS longer).
// Not for production: the layer adds a lock around every file operation.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "io/file.hpp"

namespace ra::detail {

class disk_fault_switch {
 public:
  explicit disk_fault_switch(std::string control_file);
  ~disk_fault_switch();
  disk_fault_switch(const disk_fault_switch&) = delete;
  disk_fault_switch& operator=(const disk_fault_switch&) = delete;

  /// The file layer to give the system (system_config::fs).
  storage::file_system& fs() { return fs_; }
  /// Reads the control file now (the poller does it every 50 ms).
  void poll();

 private:
  std::string control_file_;
  storage::faulty_file_system fs_;
  std::atomic<bool> full_{false};
  std::atomic<int> slow_ms_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

/// A switch that lives as long as the process (the system using its layer may be
/// stopped by the embedder at any time before exit).
storage::file_system& process_disk_fault_switch(const std::string& control_file);

}  // namespace ra::detail
