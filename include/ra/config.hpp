#pragma once
// Per-server configuration, with Ra's names and defaults.

#include <cstdint>
#include <string>
#include <vector>

#include "ra/cluster.hpp"
#include "ra/expected.hpp"
#include "ra/types.hpp"

namespace ra {

struct server_config {
  server_id id;
  std::string cluster_name;
  /// Members at cluster creation. Ignored once the log or a snapshot holds a config.
  std::vector<member> initial_members;

  // Timers (ms). Election timeouts are randomised from these as in Ra:
  //   really_short = rand(B), short = B + rand(5B), medium = B + rand(P), long = P + rand(10B)
  // with B = broadcast_time_ms and P = detector_poll_ms.
  uint64_t broadcast_time_ms = 100;
  uint64_t detector_poll_ms = 1000;
  uint64_t tick_timeout_ms = 1000;
  uint64_t await_condition_timeout_ms = 30000;
  uint64_t receive_snapshot_timeout_ms = 30000;

  // Replication.
  uint32_t max_pipeline_count = 4096;
  uint32_t max_append_entries_rpc_batch_size = 128;
  uint32_t low_priority_commands_flush_size = 16;
  /// A leader collects normal-priority commands that arrive back to back and appends
  /// them as one batch when the shell delivers flush_commands (after the messages
  /// already queued): one log write and one AE per follower per batch instead of per
  /// command, at the cost of one extra self-message per batch. The actor runtime turns
  /// it on; the pure core's default keeps one append per command (simpler to script).
  bool batch_commands = false;

  // Snapshots.
  uint64_t snapshot_chunk_size = 1'000'000;
  uint64_t min_snapshot_interval = 4096;
  /// Applied entries between two checkpoints (Ra's min_checkpoint_interval).
  uint64_t min_checkpoint_interval = 16384;

  /// Seed of the server's private PRNG (election jitter, pre-vote tokens): the core
  /// draws no other randomness, so a run is reproducible from its seeds.
  uint64_t rng_seed = 1;
};

/// What makes a server_config unusable: the field and why.
struct config_error {
  std::string field;   ///< "tick_timeout_ms", "id", "initial_members"
  std::string reason;  ///< "must be > 0"
  /// "tick_timeout_ms must be > 0"
  std::string message() const { return field + " " + reason; }
};

/// Nothing if the config is usable, else the first field that is wrong.
expected<void, config_error> validate(const server_config& c);

}  // namespace ra
