#pragma once
// One simulated node's real storage stack on its own simulated disk: the WAL writer,
// the segment flush on roll-over, the server's durable_log (mem table, segments,
// snapshot files) and the meta store, driven synchronously by the simulator instead of
// by the WAL, segment writer and snapshot worker actors.
//
// The simulator calls run_io() at a simulated later time (its disk_sync event), which
// does what the storage actors would have done meanwhile, in their order: flush the WAL
// batch, report written ranges and resend requests to the log, move rolled-over WAL
// files into segments, run queued snapshot writes. crash() cuts the disk's power and
// drops every in-memory object; open() is the real recovery path (as ra::system::start
// and the server actor's init_server do it).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/sim_file_system.hpp"
#include "libra/server.hpp"
#include "log/durable_log.hpp"
#include "ra/segment_config.hpp"
#include "wal/meta_store.hpp"
#include "wal/wal_writer.hpp"

namespace ra::sim {

/// Sizes small enough that roll-over, segment flushes and snapshots happen in every run.
struct real_storage_profile {
  uint64_t wal_max_entries = 32;
  uint32_t segment_max_entries = 16;
  storage::sim_crash_model crash;
  storage::sim_disk_faults faults;
};

/// What one run_io() did, for the simulator to pass on to the server.
struct io_round {
  bool written_moved = false;
  /// The WAL batch failed (write or sync): the server hears handle_storage_error.
  std::optional<std::string> wal_error;
  /// A leader's snapshot install finished off the server's thread: the server hears
  /// handle_snapshot_installed.
  std::optional<log_status> installed;
};

class real_node_storage final : public storage::wal_sink, public storage::snapshot_worker {
 public:
  real_node_storage(uint64_t seed, std::string uid, const real_storage_profile& profile);
  ~real_node_storage() override;
  real_node_storage(const real_node_storage&) = delete;
  real_node_storage& operator=(const real_node_storage&) = delete;

  /// Recovers from the disk: WAL recovery, recovered WAL files moved into segments, a new
  /// WAL file, the meta store, and the server's log. On success `meta` holds the durable
  /// term and vote; on failure returns why (the log cannot be opened).
  std::optional<std::string> open(ra::durable_meta& meta);
  bool is_open() const { return log_ != nullptr; }
  /// The server's log (only while open).
  storage::durable_log& log() { return *log_; }
  const storage::durable_log& log() const { return *log_; }
  /// persist_meta: durable on success, as the runtime's meta store is.
  std::optional<std::string> persist_meta(ra::term_t term, const std::optional<ra::server_id>& voted_for);

  /// Whether run_io() has anything to do.
  bool has_work() const;
  io_round run_io();
  /// Power cut: the disk applies its crash model and every in-memory object is gone.
  void crash();
  /// The process exits without a power loss: every in-memory object is gone, the disk
  /// (and its page cache) stays as it is.
  void stop_process() { drop_memory(); }

  storage::sim_file_system& disk() { return disk_; }
  const storage::sim_file_system& disk() const { return disk_; }
  uint64_t rollovers() const { return rollovers_done_; }
  uint64_t segment_flushes() const { return segment_flushes_; }
  uint64_t snapshot_jobs() const { return snapshot_jobs_done_; }
  /// Leaders' snapshots installed through the worker (the server waiting meanwhile).
  uint64_t installs() const { return installs_done_; }
  uint64_t segment_flush_failures() const { return segment_flush_failures_; }
  /// The first roll-over that could not be moved into segments (the segment writer's
  /// error), if any: on a disk without faults, a bug.
  const std::optional<std::string>& segment_error() const { return segment_error_; }

  // wal_sink / snapshot_worker (called by the durable_log)
  void write(const std::string& uid, std::vector<log_entry> entries, bool starts_new_log) override;
  void submit(const std::string& uid, storage::storage_job kind,
              std::function<storage::io_result<std::string>()> job) override;

 private:
  std::string server_dir() const { return root_ + "/" + uid_; }
  void drop_memory();

  std::string uid_;
  std::string root_ = "/data";
  real_storage_profile profile_;
  storage::sim_file_system disk_;
  // The in-memory side, gone at a crash.
  std::unique_ptr<storage::wal_writer> wal_;
  std::unique_ptr<storage::meta_store> meta_;
  std::unique_ptr<storage::durable_log> log_;
  std::vector<storage::rollover_info> rollovers_;  // closed WAL files not yet in segments
  std::vector<index_t> resends_;
  std::vector<std::pair<storage::storage_job, std::function<storage::io_result<std::string>()>>> snapshot_jobs_;
  uint64_t rollovers_done_ = 0;
  uint64_t segment_flushes_ = 0;
  uint64_t snapshot_jobs_done_ = 0;
  uint64_t installs_done_ = 0;
  uint64_t segment_flush_failures_ = 0;
  bool segment_flush_failing_ = false;
  std::optional<std::string> segment_error_;
};

}  // namespace ra::sim
