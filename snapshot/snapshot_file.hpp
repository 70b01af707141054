#pragma once
// Snapshot and checkpoint files of one server (Ra's ra_snapshot / ra_log_snapshot).
// Byte layout and directory layout: docs/storage-format.md ("Snapshot files").
//
//   <server_dir>/snapshots/<term:016X>_<index:016X>.snapshot    durable snapshots
//   <server_dir>/checkpoints/<term:016X>_<index:016X>.snapshot  checkpoints (not synced)
//
// A snapshot is written under a temporary name, synced and renamed, so a snapshot
// file either is complete or does not exist under its name. Reading one checks its CRC;
// a file that fails is reported (never silently dropped) and an older one is used.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libra/log_store.hpp"
#include "libra/messages.hpp"
#include "io/file.hpp"

namespace ra::storage {

struct snapshot_config {
  /// Applied entries since the last snapshot before the machine is asked for another.
  uint64_t min_snapshot_interval = 4096;
  /// Applied entries since the last checkpoint before another is taken.
  uint64_t min_checkpoint_interval = 16384;
  /// Checkpoints kept; past this the oldest is deleted.
  uint32_t max_checkpoints = 10;
  /// Sender side: bytes of machine state per install-snapshot chunk.
  uint64_t snapshot_chunk_size = 1'000'000;
};

inline constexpr const char* snapshots_dir_name = "snapshots";
inline constexpr const char* checkpoints_dir_name = "checkpoints";

/// "<term:016X>_<index:016X>.snapshot"
std::string snapshot_file_name(index_t index, term_t term);

/// A file that looked like a snapshot or checkpoint but failed validation.
struct invalid_snapshot {
  std::string path;
  std::string reason;
};

/// A snapshot or checkpoint file found in a directory, by its name.
struct snapshot_file_info {
  std::string path;
  index_t index;
  term_t term;
};

/// The snapshot files in `dir` (newest, i.e. highest index, first); empty if `dir`
/// does not exist. Temporary files are not listed.
io_result<std::vector<snapshot_file_info>> list_snapshot_files(file_system& fs, const std::string& dir);

// -- single files ------------------------------------------------------------------------

/// Reads and fully validates (magic, version, CRC, meta, name) one snapshot file.
/// Corruption is an io_error with code EBADMSG saying what is wrong.
io_result<stored_snapshot> read_snapshot_file(file_system& fs, const std::string& path);
/// The metadata of a snapshot file, reading only its header and meta (the state and
/// so the CRC are not checked: as Ra's read_meta, for a quick look).
io_result<snapshot_meta> read_meta(file_system& fs, const std::string& path);

// -- a server's snapshots ------------------------------------------------------------------

/// Writes `snap` as the server's snapshot, durably and atomically, then deletes every
/// other snapshot file (older ones and invalid leftovers: the new one is now the truth)
/// and the checkpoints at or below its index. If the write fails, the previous snapshot
/// is untouched. An error after the rename (from the clean-up) leaves the new snapshot
/// in place.
/// Writes a snapshot file atomically (temp file, sync, rename, sync directory) without
/// touching other snapshots; returns its path. For writes done off the server's thread,
/// whose clean-up of older snapshots happens on the server's thread afterwards.
io_result<std::string> write_snapshot_file(file_system& fs, const std::string& server_dir, const stored_snapshot& snap);
io_status write_snapshot(file_system& fs, const std::string& server_dir, const stored_snapshot& snap);

/// Deletes every snapshot file but `kept_path` (and temporaries of interrupted writes;
/// not a transfer in progress), then the checkpoints at or below `kept_index`.
io_status remove_superseded_snapshots(file_system& fs, const std::string& server_dir, const std::string& kept_path,
                                      index_t kept_index);

struct loaded_snapshot {
  std::optional<stored_snapshot> snapshot;  ///< empty if there is no valid snapshot
  std::string path;                         ///< of the snapshot loaded
  std::vector<invalid_snapshot> skipped;    ///< newer files that failed validation
};

/// The newest snapshot that validates. Invalid newer ones are reported in `skipped`
/// (and left in place for inspection; the next write_snapshot removes them). I/O
/// errors other than corruption fail the call: a snapshot that could not be read is
/// not known to be bad.
io_result<loaded_snapshot> load_latest_valid(file_system& fs, const std::string& server_dir);

// -- checkpoints ------------------------------------------------------------------------

/// Writes `snap` as a checkpoint: atomically renamed into place but not synced (a crash
/// may lose or tear it; promotion syncs and validates it). Deletes the oldest
/// checkpoints beyond `config.max_checkpoints`.
io_status write_checkpoint(file_system& fs, const std::string& server_dir, const stored_snapshot& snap,
                           const snapshot_config& config);

struct promotion {
  std::optional<snapshot_meta> promoted;  ///< empty if no valid checkpoint qualified
  std::vector<invalid_snapshot> skipped;  ///< checkpoints that failed validation (deleted)
};

/// Makes the newest valid checkpoint at or below `index` (and above the current
/// snapshot) the server's snapshot: fsync, rename into snapshots/, sync the directory.
/// Then deletes older snapshots and the checkpoints at or below the promoted index.
io_result<promotion> promote_checkpoint(file_system& fs, const std::string& server_dir, index_t index);

}  // namespace ra::storage
