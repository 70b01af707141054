#pragma once
// Ra's key_metrics: a few counters and gauges per server that anyone in the process can
// read without messaging the server (so a stuck or busy server can still be observed).
// The server actor publishes them after every event it handled (relaxed atomic stores:
// a reader sees each value tear-free, not a consistent snapshot of all of them).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "libra/types.hpp"

namespace ra {

/// A copy of a server's metrics at one moment.
struct key_metrics_snapshot {
  uint64_t commands = 0;        ///< commands accepted as leader
  uint64_t elections = 0;       ///< elections started
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t last_applied = 0;
  uint64_t last_index = 0;
  uint64_t last_written_index = 0;
  uint64_t snapshot_index = 0;
  uint64_t snapshots_written = 0;
  uint64_t checkpoints_written = 0;
  uint64_t effective_machine_version = 0;
  role state = role::follower;
  bool running = false;  ///< false once the server stopped (the values are its last ones)
};

namespace detail {

/// The shared block a server actor writes and readers read.
struct key_metrics_block {
  std::atomic<uint64_t> commands{0}, elections{0}, term{0}, commit_index{0}, last_applied{0}, last_index{0},
    last_written_index{0}, snapshot_index{0}, snapshots_written{0}, checkpoints_written{0},
    effective_machine_version{0};
  std::atomic<uint8_t> state{0};
  std::atomic<bool> running{false};

  key_metrics_snapshot read() const;
};

/// The block of server `name` on node `node` (created on first use; kept for the
/// process's lifetime so readers never race with its destruction).
std::shared_ptr<key_metrics_block> key_metrics_for(const std::string& node, const std::string& name);
/// The block if the server was ever started in this process.
std::shared_ptr<key_metrics_block> find_key_metrics(const std::string& node, const std::string& name);

}  // namespace detail
}  // namespace ra
