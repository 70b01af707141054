#pragma once
// The write-ahead log's logic as a plain synchronous class: one WAL per node, shared by
// every Raft server (writer, identified by its uid) on it. The CAF shell (wal_actor)
// owns one and calls queue() per append and flush() per batch.
//
// Per batch: every queued entry is encoded into one buffer, written with ONE write and
// made durable with ONE sync (none with wal_write_strategy o_sync, where O_DSYNC makes
// the write itself durable).
//
// Failure handling: if the write or the sync fails (ENOSPC, EIO), nothing of the batch
// is reported written and every writer in it is named in the result. The encoded batch
// is kept; the next flush() first truncates the file back to the end of the last durable
// batch (so a partial write or pages a failed fsync dropped never stay in the file) and
// writes the kept batch plus whatever was queued since. So a writer whose flush failed
// gets "written" for those entries once the fault clears; it need not resend.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/directory_lock.hpp"
#include "io/file.hpp"
#include "ra/wal_config.hpp"
#include "ra/log_entry.hpp"
#include "ra/system_metrics.hpp"
#include "wal/wal_reader.hpp"

namespace ra::storage {

/// The range of one writer's entries in a WAL file. Entries in [first, last] are all
/// there; where a writer overwrote, the later record wins.
struct writer_range {
  std::string writer;
  index_t first{0};
  index_t last{0};
};

/// A closed WAL file, for the segment writer.
struct rollover_info {
  std::string path;
  std::vector<writer_range> writers;
};
using rollover_callback = std::function<void(rollover_info)>;

enum class queue_status : uint8_t {
  queued,   ///< will be written by the next flush()
  resend,   ///< gap: dropped; the writer must resend from resend_from
  dropped,  ///< dropped: the writer was already asked to resend from resend_from
};

struct queue_result {
  queue_status status = queue_status::queued;
  index_t resend_from{0};
};

/// The highest durable index of one writer after a flush, with its term.
struct writer_written {
  std::string writer;
  index_t index{0};
  term_t term{0};
};

struct flush_result {
  std::vector<writer_written> written;
  /// On failure: every writer with entries in the batch; none of them count as written.
  std::vector<std::string> failed_writers;
  std::optional<io_error> error;
  bool ok() const { return !error.has_value(); }
};

struct wal_recovery {
  /// Per writer uid: its entries found in the WAL, contiguous and ascending, with
  /// overwrites applied.
  std::map<std::string, std::vector<log_entry>> entries;
  /// The files read, oldest first, with their writer ranges (for the segment writer).
  std::vector<rollover_info> files;
  /// Files that ended in a torn record, with the offset where valid data ends. The last
  /// file's torn tail has been truncated away.
  std::vector<std::pair<std::string, uint64_t>> torn_tails;
};

/// The writer's counters (ra/system_metrics.hpp names and documents them). The writer
/// counts in this plain struct on its own thread and publishes a copy to its
/// wal_metrics_block (published_metrics()) after every flush, for readers on other threads.
struct wal_writer_stats : ra::wal_metrics_snapshot {};

/// The writer's counters as readers on other threads see them (relaxed atomics: each
/// value is tear-free, not a consistent snapshot of all of them).
struct wal_metrics_block {
  std::atomic<uint64_t> batches{0}, syncs{0}, entries{0}, bytes{0}, rollovers{0}, failed_flushes{0},
    slow_syncs{0}, sync_latency_ns_sum{0};
  std::array<std::atomic<uint64_t>, ra::wal_sync_latency_buckets> sync_latency_counts{};

  void publish(const wal_writer_stats& s);
  ra::wal_metrics_snapshot read() const;
};

/// The entries of writer `uid` in the WAL files of `wal_dir`, oldest file first, with
/// overwrites applied as recovery applies them — for a server restarted while its node
/// (and the WAL) keeps running. A file removed meanwhile (moved to segments) is skipped.
io_result<std::vector<log_entry>> read_writer_entries(file_system& fs, const std::string& wal_dir,
                                                      const std::string& uid);

class wal_writer {
 public:
  explicit wal_writer(wal_config config, rollover_callback on_rollover = {});
  wal_writer(const wal_writer&) = delete;
  wal_writer& operator=(const wal_writer&) = delete;

  /// Both recover() and start() first lock wal_data_dir (io/directory_lock.hpp) for the
  /// writer's lifetime: a second writer on the same directory fails (recover with
  /// wal_error::held_elsewhere, start with directory_lock::is_held_elsewhere) instead of
  /// moving the first one's live file away.
  ///
  /// Reads the existing WAL files (oldest first) before the writer starts: returns what
  /// they hold, truncates a torn tail of the last file, and learns every writer's last
  /// index (for gap detection). A corrupt record anywhere else is an error naming the
  /// file and offset. The files stay; the caller hands them to the segment writer.
  /// With collect_entries = false, out.entries stays empty (the checks still run): the
  /// runtime moves the files into segments instead, and a million-entry WAL need not be
  /// copied into memory on the way.
  ra::expected<void, wal_error> recover(wal_recovery& out, bool collect_entries = true);

  /// Creates wal_data_dir if needed and opens a new WAL file numbered after every
  /// existing one. flush() calls it if it was not called (or failed).
  io_status start();

  /// Queues `entries` (contiguous indexes) of `writer`. The first index may be at most
  /// the writer's last index + 1; lower means an overwrite, written with the truncate
  /// flag. Higher is a gap: dropped, with a resend request, and the writer's writes stay
  /// dropped until one starts at or below last + 1. `starts_new_log` (after a snapshot
  /// install) accepts any first index and flags it, so recovery forgets older entries.
  queue_result queue(const std::string& writer, std::span<const log_entry> entries,
                     bool starts_new_log = false);

  size_t pending_entries() const { return batch_entries_; }
  /// Distinct writers with entries in the batch being built.
  size_t pending_writers() const { return batch_writers_.size(); }
  const wal_config& config() const { return config_; }
  bool batch_full() const {
    return batch_entries_ >= config_.wal_max_batch_size || batch_.size() >= config_.wal_max_batch_bytes;
  }

  /// Writes and syncs everything queued (see the file comment), then rolls over if the
  /// file grew past a limit. Returns the durable point of every writer in the batch.
  flush_result flush();

  const wal_writer_stats& stats() const { return stats_; }
  /// stats() as of the last flush, readable from any thread for the writer's lifetime
  /// and after (shared).
  std::shared_ptr<const wal_metrics_block> published_metrics() const { return published_; }
  /// o_sync unless the file system refused O_DSYNC (then default_strategy).
  write_strategy effective_write_strategy() const { return strategy_; }
  /// The file being written ("" before start()).
  const std::string& current_path() const { return path_; }

 private:
  struct writer_sequence {
    index_t last{0};
    bool out_of_seq = false;
  };
  struct pending_writer {
    index_t first{0};
    index_t last{0};
    term_t term{0};
  };

  std::string file_path(uint64_t number) const;
  uint32_t writer_ref(const std::string& writer);
  io_result<std::unique_ptr<file>> create_file(uint64_t number);
  io_result<uint64_t> highest_file_number();
  flush_result fail_batch(io_error error);
  void roll_over();
  void notice(const std::string& text) const;
  /// Counts a batch made durable in `took` (histogram, slow syncs; a slow one is
  /// reported through on_notice at most once per slow_sync_report_interval, with the
  /// figures of the slowest and how many there were).
  void record_sync(std::chrono::steady_clock::duration took, size_t batch_bytes);
  io_status lock_directory();

  wal_config config_;
  file_system& fs_;
  rollover_callback on_rollover_;
  write_strategy strategy_;
  std::optional<directory_lock> dir_lock_;  ///< held from recover() or start() on

  // The current file.
  std::unique_ptr<file> file_;
  std::string path_;
  uint64_t file_number_ = 0;
  std::optional<uint64_t> next_file_number_;  ///< known after recover()
  uint64_t durable_size_ = 0;  ///< end of the last synced batch
  uint64_t file_entries_ = 0;
  bool must_truncate_ = false;  ///< bytes past durable_size_ may be in the file
  std::unordered_map<std::string, uint32_t> file_refs_;
  std::map<std::string, writer_range> file_ranges_;

  std::unordered_map<std::string, writer_sequence> sequences_;

  // The batch being built (kept across a failed flush).
  std::vector<char> batch_;
  size_t batch_entries_ = 0;
  std::unordered_map<std::string, pending_writer> batch_writers_;

  wal_writer_stats stats_;
  std::shared_ptr<wal_metrics_block> published_ = std::make_shared<wal_metrics_block>();
  // Slow syncs not reported yet (since last_slow_report_).
  uint64_t unreported_slow_syncs_ = 0;
  std::chrono::steady_clock::duration worst_unreported_{};
  size_t worst_unreported_bytes_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_slow_report_;
};

/// Slow WAL syncs are reported at most once per this interval (the first at once).
inline constexpr std::chrono::seconds slow_sync_report_interval{10};

}  // namespace ra::storage
