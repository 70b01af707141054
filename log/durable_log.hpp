#pragma once
// A server's durable log (Ra's ra_log): the ra::log_store the core runs on, made of
//   - the newest valid snapshot file,
//   - the server's segment files (entries moved out of rolled-over WAL files),
//   - a mem table of everything appended since (readable at once),
// with every write going through the node's shared WAL (a wal_sink). An entry is
// "written" only when the WAL reports it durable (on_written), so the core never
// acknowledges an entry that a crash could lose.
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
#include "segments/segment_set.hpp"
#include "snapshot/snapshot_file.hpp"
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

/// Runs snapshot writes off the server's thread (Ra's ra_worker). When a job is done the
/// shell must call durable_log::on_snapshot_written(result) on the server's thread.
class snapshot_worker {
 public:
  virtual ~snapshot_worker() = default;
  virtual void submit(const std::string& uid, std::function<io_result<std::string>()> job) = 0;
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
  std::optional<stored_snapshot> snapshot() const override {
    return snapshot_ ? std::optional<stored_snapshot>{*snapshot_} : std::nullopt;
  }
  void write_snapshot(stored_snapshot snap) override;
  void install_snapshot(stored_snapshot snap) override;
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
  bool snapshot_pending() const { return cold_ && cold_->pending_snapshot.has_value(); }

  /// The first storage error met since open (a segment read failing, a snapshot that
  /// could not be written...). Reads that fail return nothing; the shell should stop
  /// the server with this error rather than let it run on a log it cannot read.
  const std::optional<io_error>& error() const { return cold_ ? cold_->error : no_error_; }
  /// The last snapshot write that failed (not fatal: the log just stays longer).
  const std::optional<io_error>& snapshot_error() const { return cold_ ? cold_->snapshot_error : no_error_; }
  const std::string& uid() const { return uid_; }
  const mem_table& memory() const { return mem_; }
  const segment_set& segments() const { return segs_; }

 private:
  durable_log(file_system& fs, durable_log_config cfg, wal_sink& wal, segment_set segs);
  index_t snapshot_index() const { return snapshot_ ? snapshot_->meta.index : index_t{0}; }
  const std::string& dir() const { return segs_.directory(); }
  void set_snapshot(stored_snapshot snap);
  std::optional<log_entry> entry_at(index_t i) const;
  void note_error(const io_error& e) const;

  void adopt_local_snapshot(stored_snapshot snap, const std::string& path);

  /// What most servers never need (a snapshot being written, errors): allocated on
  /// first use, so an idle server's log stays small (a node holds thousands of them).
  struct cold_state {
    std::optional<stored_snapshot> pending_snapshot;
    std::optional<io_error> error;
    std::optional<io_error> snapshot_error;
  };
  cold_state& cold() const;
  static const std::optional<io_error> no_error_;

  file_system& fs_;
  wal_sink& wal_;
  std::string uid_;
  snapshot_config snap_cfg_;
  mutable segment_set segs_;  // reads go through its (mutable) open-file cache; holds the directory
  mem_table mem_;
  /// Boxed: a stored_snapshot is large and many servers have none.
  std::unique_ptr<const stored_snapshot> snapshot_;
  index_t last_index_{0};
  index_t written_{0};
  bool next_write_starts_new_log_ = false;
  snapshot_worker* worker_ = nullptr;
  mutable std::unique_ptr<cold_state> cold_;
};

}  // namespace ra::storage
