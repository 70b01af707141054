#pragma once
// The WAL's settings (Ra's names and defaults): part of the public system_config, so this
// header pulls in nothing of the writer, the reader or the file layer.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ra/sync_method.hpp"

namespace ra::storage {

class file_system;  // io/file.hpp

/// How the WAL makes a batch durable.
enum class write_strategy : uint8_t {
  default_strategy,  ///< write, then fdatasync/fsync per batch (wal_sync_method)
  o_sync,            ///< open with O_DSYNC; no separate sync
};

/// The smallest wal_config::wal_max_size_bytes (smaller values are raised to it).
inline constexpr uint64_t wal_min_size_bytes = 65536;

/// Ra's WAL settings, with Ra's names and defaults.
struct wal_config {
  std::string wal_data_dir;  ///< the WAL's directory (set by ra::system from system_config)
  /// Roll over to a new file once a batch leaves the file larger than this. Values
  /// below wal_min_size_bytes are raised to it. One oversized batch is still accepted.
  uint64_t wal_max_size_bytes = 256'000'000;
  /// Roll over once a file holds more entries than this; 0 = no limit.
  uint64_t wal_max_entries = 0;
  /// Entries per batch: the shell flushes once this many are queued.
  size_t wal_max_batch_size = 8192;
  /// Bytes per batch: the shell also flushes once the encoded batch holds this much, so
  /// big commands do not pile up into a multi-GB buffer and write. One entry bigger than
  /// this still goes (alone); entries are bounded by server_config::max_command_bytes.
  uint64_t wal_max_batch_bytes = 64ull << 20;
  /// When false, entry bodies carry CRC 0 and readers skip the check (headers are
  /// always checksummed: that is what detects a torn tail).
  bool wal_compute_checksums = true;
  sync_method wal_sync_method = sync_method::datasync;  ///< how a batch is made durable
  write_strategy wal_write_strategy = write_strategy::default_strategy;  ///< sync per batch or O_DSYNC
  /// Group commit (used by the WAL actor): when a batch is about to be synced and holds
  /// the entries of one writer only, wait up to this long for other writers to join the
  /// same sync; it goes at once as soon as a second writer joins (or the batch fills).
  /// Members of a cluster on one node share the WAL: the leader's entry arrives first
  /// and the followers' copies tens of microseconds later, so without the window a
  /// commit waits for two syncs. 0 = off (every batch is synced as soon as the actor
  /// reaches it).
  std::chrono::microseconds wal_group_commit_window{150};
  /// Lock wal_data_dir for the writer's lifetime (io/directory_lock.hpp), so that a
  /// second writer on it fails instead of recovering the live file into segments. Off
  /// only in tests that read a WAL, or simulate a crash and restart, while the writer
  /// object that holds the directory still exists in the same process.
  bool lock_directory = true;
  /// A batch whose write and sync take longer than this counts as a slow sync (metric
  /// ra_wal_slow_syncs_total) and is logged as a warning with its figures, at most once
  /// per 10 s (counting the others); 0 = never.
  std::chrono::milliseconds wal_slow_sync_threshold{500};
  /// The file layer; null means file_system::posix(). Must outlive the writer.
  file_system* fs = nullptr;
  /// Diagnostics that need no action from the caller (an O_DSYNC fallback, a failed
  /// roll-over that will be retried).
  std::function<void(std::string_view)> on_notice;
};

}  // namespace ra::storage
