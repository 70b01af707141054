#pragma once
// Per-server configuration, with Ra's names and defaults.

#include <cstdint>
#include <string>
#include <vector>

#include "ra/cluster.hpp"
#include "ra/expected.hpp"
#include "ra/types.hpp"

namespace ra {

/// The largest command payload the storage formats can hold: the WAL and the segment
/// files store an entry's length in 32 bits (with a few bytes of entry header).
/// server_config::max_command_bytes must stay below it.
inline constexpr uint64_t max_storable_command_bytes = 0xFFFF'FFFFull - 64;

/// What a server does when its machine's apply throws on a committed command.
enum class apply_failure_policy : uint8_t {
  /// Skip the command: the machine state stays as it was (apply must throw before it
  /// mutates, machine.hpp), the caller gets error_code::apply_failed, and the server's
  /// commands_rejected metric counts it. Every member does the same (apply is
  /// deterministic), so one poison command no longer stops the whole cluster, again on
  /// every restart.
  reject,
  /// Stop the server with the exception as the reason (Ra's behaviour).
  stop,
};

/// One server's configuration (Ra's server config); validate() checks it.
struct server_config {
  server_id id;              ///< the server
  std::string cluster_name;  ///< its cluster's name
  /// Members at cluster creation. Ignored once the log or a snapshot holds a config.
  std::vector<member> initial_members;

  // Timers (ms). Election timeouts are randomised from these as in Ra:
  //   really_short = rand(B), short = B + rand(5B), medium = B + rand(P), long = P + rand(10B)
  // with B = broadcast_time_ms and P = detector_poll_ms.
  uint64_t broadcast_time_ms = 100;  ///< B: the expected round trip between members
  uint64_t detector_poll_ms = 1000;  ///< P: Ra's failure-detector poll interval (the longer election timeouts)
  /// The leader's tick while it has work (lagging peers, stalled snapshot transfers,
  /// the machine's tick).
  uint64_t tick_timeout_ms = 1000;
  /// How long a leadership transfer waits for its target to win before the leader
  /// carries on leading.
  uint64_t await_condition_timeout_ms = 30000;
  /// How long a follower waits for the next chunk of a snapshot before abandoning it.
  uint64_t receive_snapshot_timeout_ms = 30000;

  // Replication.
  /// Entries in flight (sent, not yet acknowledged) to one follower before the leader
  /// waits for its replies.
  uint32_t max_pipeline_count = 4096;
  /// Entries per append-entries message.
  uint32_t max_append_entries_rpc_batch_size = 128;
  /// Low-priority commands appended per batch (after all waiting normal ones).
  uint32_t low_priority_commands_flush_size = 16;
  /// A leader collects normal-priority commands that arrive back to back and appends
  /// them as one batch when the shell delivers flush_commands (after the messages
  /// already queued): one log write and one AE per follower per batch instead of per
  /// command, at the cost of one extra self-message per batch. The actor runtime turns
  /// it on; the pure core's default keeps one append per command (simpler to script).
  bool batch_commands = false;
  /// The largest command payload (encoded bytes) the leader appends; bigger ones are
  /// refused with error_code::command_too_large (and by the API before sending, with
  /// api_errc::command_too_large). 64 MiB by default: far below the storage formats'
  /// limit (max_storable_command_bytes), and small enough that one command does not
  /// turn into multi-GB replication messages and WAL buffers.
  uint64_t max_command_bytes = 64ull << 20;
  /// What a throwing apply does (see apply_failure_policy).
  apply_failure_policy on_apply_failure = apply_failure_policy::reject;

  // Snapshots.
  uint64_t snapshot_chunk_size = 1'000'000;  ///< bytes per chunk of a snapshot sent to a follower
  /// Applied entries since the last snapshot before a release_cursor takes a new one.
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
