#pragma once
// A server's durable log (Ra's ra_log): the ra::log_store the core runs on, made of
//   - the newest valid snapshot file,
//   - the server's segment files (entries moved out of rolled-over WAL files),
//   - a mem table of everything appended since (readable at once),
// with every write going through the node's shared WAL (a wal_sink). An entry is
// "written" only when the WAL reports it durable (on_written), so the core never
// acknowledges an entry that a crash could lose.
//
// Snapshots stay on disk: the log holds only the current snapshot's meta, state size and
// path. A leader's chunks are read from the file (one open reader, kept while transfers
// of that snapshot run, so a newer snapshot replacing the file does not cut them short);
// a follower streams the chunks it receives into a temporary file that is renamed into
// place on completion. The whole state is read only to restore a machine.
//
// Installing a snapshot that does not match the log discards the log, and that must
// survive a restart (review finding F1): before the snapshot takes its name, a durable
// "log reset" marker (<dir>/log_reset) is written; until the first entry of the new log
// is durable in the WAL, a recovery discards every entry above the snapshot (old ones
// may still be in the shared WAL or in segments) and flags the first write as a new log,
// so the WAL accepts it whatever it remembers of this server's old indexes.
//
// Threading: a durable_log belongs to its server (one actor); the node's WAL and segment
// writer reach it only through messages that the server's shell turns into on_written /
// on_resend / on_segments calls.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libra/log_store.hpp"
#include "log/mem_table.hpp"
#include "log/storage_job.hpp"
#include "segments/segment_set.hpp"
#include "snapshot/snapshot_file.hpp"
#include "snapshot/snapshot_transfer.hpp"
#include "io/file.hpp"

namespace ra::storage {

/// Where a durable_log sends its writes: the node's WAL (an actor message in the runtime,
/// a direct call into a wal_writer in tests).
class wal_sink {
 public:
  virtual ~wal_sink() = default;
  /// Queue `entries` of server `uid` for the WAL. `starts_new_log`: the first entry
  /// follows a snapshot install, not the writer's previous last index.
  virtual void write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) = 0;
};

/// Runs snapshot writes and installs off the server's thread (Ra's ra_worker): their
/// fsyncs, renames and directory syncs never block a scheduler thread. When a job is done
/// the shell reports its result on the server's thread, as `kind` says.
class snapshot_worker {
 public:
  virtual ~snapshot_worker() = default;
  virtual void submit(const std::string& uid, storage_job kind, std::function<io_result<std::string>()> job) = 0;
};

struct durable_log_config {
  std::string uid;  ///< the server's unique id, its writer name in the WAL
  std::string dir;  ///< the server's own directory (segments, snapshots)
  segment_config segments;
  size_t max_open_segments = default_max_open_segments;
  snapshot_config snapshots;
};

class durable_log final : public log_store {
 public:
  /// Rebuilds the log from snapshot + segments + the WAL's recovered entries for this
  /// server (`wal_entries`, in order, overwrites already applied). Fails on corruption
  /// (naming file and offset) or on a gap between the snapshot and the log. Invalid
  /// snapshots that were skipped in favour of older ones are listed in `skipped`.
  static io_result<std::unique_ptr<durable_log>> open(file_system& fs, durable_log_config cfg, wal_sink& wal,
                                                      std::vector<log_entry> wal_entries,
                                                      std::vector<invalid_snapshot>* skipped = nullptr);

  // -- log_store ------------------------------------------------------------------------
  index_t last_index() const override { return last_index_; }
  index_term last_written() const override;
  std::optional<term_t> term_at(index_t i) const override;
  log_status read(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const override;
  index_t first_index() const override { return snapshot_index() + 1; }
  void append(std::vector<log_entry> entries) override;
  std::optional<snapshot_ref> snapshot() const override {
    return snapshot_ ? std::optional<snapshot_ref>{snapshot_->ref} : std::nullopt;
  }
  snapshot_bytes load_snapshot_state() const override;
  snapshot_bytes read_snapshot_chunk(const snapshot_meta& meta, uint32_t chunk_no, uint64_t chunk_size) const override;
  void write_snapshot(stored_snapshot snap) override;
  std::optional<uint32_t> snapshot_checksum(const snapshot_meta& meta) const override;
  log_status begin_snapshot_receipt(const snapshot_meta& meta, std::optional<uint32_t> checksum = std::nullopt) override;
  log_status accept_snapshot_chunk(std::span<const char> state_chunk) override;
  log_status complete_snapshot_receipt() override;
  void abort_snapshot_receipt() override;
  /// With a worker, a completed receipt is made durable by a snapshot_install job.
  bool completes_receipts_later() const override { return worker_ != nullptr; }
  log_status begin_snapshot_completion() override;
  void write_checkpoint(stored_snapshot snap) override;
  bool promote_checkpoint(index_t index) override;

  // -- events from the node -------------------------------------------------------------
  /// The WAL made this server's entries durable up to (index, term). Returns true if
  /// last_written() moved.
  bool on_written(index_t index, term_t term);
  /// The WAL saw a gap (or lost a batch) and asks for everything from `from` again.
  void on_resend(index_t from);
  /// The segment writer wrote these segment files into our directory.
  void on_segments(const std::vector<segment_ref>& refs);
  /// With a worker, local snapshots (write_snapshot) are written off this thread: the
  /// log keeps its entries and reports the previous snapshot until the write is done.
  void set_snapshot_worker(snapshot_worker* w) { worker_ = w; }
  /// The worker finished the pending snapshot write (the file's path, or the error).
  void on_snapshot_written(const io_result<std::string>& result);
  /// The worker finished the install begun by begin_snapshot_completion (the installed
  /// snapshot's path, or the error): the log takes the snapshot (keeping or discarding
  /// the entries above it). Returns what the server's handle_snapshot_installed needs.
  log_status on_snapshot_installed(const io_result<std::string>& result);
  bool snapshot_pending() const { return cold_ && cold_->pending_snapshot.has_value(); }

  /// The first storage error met since open (a segment read failing, a snapshot that
  /// could not be written...). Reads that fail return nothing; the shell should stop
  /// the server with this error rather than let it run on a log it cannot read.
  const std::optional<io_error>& error() const { return cold_ ? cold_->error : no_error_; }
  /// The last snapshot write that failed (not fatal: the log just stays longer).
  const std::optional<io_error>& snapshot_error() const { return cold_ ? cold_->snapshot_error : no_error_; }
  const std::string& uid() const { return uid_; }
  const mem_table& memory() const { return mem_; }
  uint64_t memory_bytes() const override { return mem_.memory_bytes(); }
  const segment_set& segments() const { return segs_; }
  /// The path of the current snapshot's file ("" without one).
  const std::string& snapshot_path() const;
  /// Whether a discarded log still awaits the first durable entry of the new one.
  bool log_reset_pending() const { return cold_ && cold_->pending_log_reset.has_value(); }

 private:
  durable_log(file_system& fs, durable_log_config cfg, wal_sink& wal, segment_set segs);
  index_t snapshot_index() const { return snapshot_ ? snapshot_->ref.meta.index : index_t{0}; }
  const std::string& dir() const { return segs_.directory(); }
  void set_snapshot(snapshot_ref ref, std::string path);
  /// Drops the whole log above the snapshot at `idx`, in memory and in segments.
  void discard_log_above(index_t idx);
  /// Applies a log reset marker found at open (see the header comment).
  io_status recover_log_reset(std::vector<log_entry>& wal_entries);
  io_status clear_log_reset();
  std::optional<log_entry> entry_at(index_t i) const;
  void note_error(const io_error& e) const;

  void adopt_local_snapshot(snapshot_ref ref, const std::string& path);
  /// The in-memory side of an install whose files are durable at `path`.
  void adopt_received_snapshot(const snapshot_meta& meta, uint64_t bytes, const std::string& path,
                               bool keeps_suffix);

  /// What most servers never need (a snapshot being written, sent or received, errors):
  /// allocated on first use, so an idle server's log stays small (a node holds
  /// thousands of them).
  struct cold_state {
    std::optional<snapshot_ref> pending_snapshot;
    std::optional<io_error> error;
    std::optional<io_error> snapshot_error;
    /// The reader of the snapshot being sent (its file stays open), and its chunk size.
    std::optional<snapshot_chunk_reader> chunk_reader;
    uint64_t chunk_reader_size = 0;
    std::optional<snapshot_receiver> receipt;
    /// A received snapshot whose install job runs (begin_snapshot_completion).
    struct install_job {
      snapshot_meta meta;
      uint64_t bytes = 0;
      bool keeps_suffix = false;
    };
    std::optional<install_job> pending_install;
    /// The snapshot index of a log reset whose marker is still on disk.
    std::optional<index_t> pending_log_reset;
  };
  cold_state& cold() const;
  static const std::optional<io_error> no_error_;

  file_system& fs_;
  wal_sink& wal_;
  std::string uid_;
  snapshot_config snap_cfg_;
  mutable segment_set segs_;  // reads go through its (mutable) open-file cache; holds the directory
  mem_table mem_;
  struct current_snapshot {
    snapshot_ref ref;
    std::string path;
  };
  /// Boxed: a snapshot's meta (its cluster) is large and many servers have none.
  std::unique_ptr<const current_snapshot> snapshot_;
  index_t last_index_{0};
  index_t written_{0};
  bool next_write_starts_new_log_ = false;
  snapshot_worker* worker_ = nullptr;
  mutable std::unique_ptr<cold_state> cold_;
};

}  // namespace ra::storage
