#pragma once
// A simulated disk behind the file_system interface, for the simulator and crash tests:
// everything lives in memory, every decision comes from the seed given to the
// constructor, and crash() cuts the power the way a real disk and a POSIX file system may:
//
// - File data: reads see every write at once (the page cache). A successful sync makes
//   the file's written pages and its size durable. At a crash, every page written since
//   the last successful sync is independently lost (the old contents, or zeros beyond the
//   old end), kept, or torn (each 512-byte sector old or new), and the size is either the
//   durable one or the current one, so a later page may survive while an earlier one reads
//   as zeros inside the file (writeback out of order).
// - A failed sync (EIO or ENOSPC) forgets the written pages as Linux does: reads still
//   see them, but they are no longer dirty, so a later sync succeeds without saving them
//   and the crash loses them.
// - Names: create, rename and remove change the directory at once; they become durable
//   at a sync_directory() of that directory. At a crash each directory keeps its durable
//   entries plus a random prefix of the changes made since (a rename within a directory
//   is one atomic change; across directories it is an unlink and a link, each on its own).
// - Directories themselves (create_directories, removing an empty one) are durable at once.
// - Faults, each off by default: EIO or ENOSPC on a write (an ENOSPC write may have
//   written a prefix first) and on a sync, and latent corruption: a read of a synced page
//   flips one bit in it for good, as bit rot would.
//
// - A power cut in the middle of the I/O: cut_power_after(n) lets n more changing
//   operations (write, sync, truncate, create, rename, remove, directory sync) through; the
//   next one dies half done (a write leaves a random prefix) and the crash model runs at
//   that instant. Until crash() every operation then fails with EIO, as in a process
//   whose machine just lost power, and crash() only turns the power back on.
//
// Not thread-safe: the simulator drives it from one thread. Handles opened before a crash
// fail with EIO afterwards (the process that held them is gone).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/file.hpp"

namespace ra::storage {

/// Probabilities (0 = never) of the injected faults, per operation.
struct sim_disk_faults {
  double write_eio = 0;     ///< a write, writev or pwrite fails with EIO, nothing written
  double write_enospc = 0;  ///< a write fails with ENOSPC after writing a random prefix
  double sync_eio = 0;      ///< a file sync fails with EIO (the dirty pages are forgotten)
  double sync_enospc = 0;   ///< the same with ENOSPC (delayed allocation found no space)
  double dir_sync_eio = 0;  ///< a sync_directory fails with EIO (the changes stay pending)
  double read_bit_flip = 0; ///< a read flips one bit of a synced page it covers, for good
  uint64_t max_bit_flips = UINT64_MAX;  ///< no more flips once this many happened
};

/// How a crash treats each page written since the last sync; the rest of 1 is "lost".
struct sim_crash_model {
  double keep_page = 1.0 / 3;  ///< the page reached the disk whole
  double tear_page = 1.0 / 3;  ///< each 512-byte sector of the page is old or new
  double keep_new_size = 0.5;  ///< an unsynced size change (append, truncate) survives
  /// The unit of writeback and of the sectors a page tears into. Smaller than a real
  /// disk's makes small writes (a WAL batch of short entries) span several pages, so a
  /// crash can keep a later one and lose an earlier one.
  /// True: each unsynced page survives or not on its own, so a later page of a write can
  /// reach the disk while an earlier one reads as old data or zeros (XFS, ext4 without
  /// data=ordered). False: writeback in file order, so what survives of a file's unsynced
  /// pages is a prefix (the first page not kept whole may be torn, later ones are lost).
  bool reorder_writeback = true;
  /// With in-order writeback: true, a file's new size may land before its data, so its
  /// tail reads as zeros (XFS); false, the size follows the data that landed (ext4
  /// data=ordered). Out of order, the size is always decided on its own.
  bool size_runs_ahead = true;
  uint64_t page_bytes = 4096;
  uint64_t sector_bytes = 512;
};

/// What the disk has done so far (for tests and the simulator's report).
struct sim_disk_counters {
  uint64_t writes = 0;
  uint64_t syncs = 0;
  uint64_t dir_syncs = 0;
  uint64_t write_faults = 0;  ///< injected write failures
  uint64_t sync_faults = 0;   ///< injected file and directory sync failures
  uint64_t bits_flipped = 0;
  uint64_t crashes = 0;
  uint64_t pages_kept = 0;    ///< at crashes: unsynced pages that survived whole
  uint64_t pages_torn = 0;
  uint64_t pages_lost = 0;
  uint64_t dir_changes_kept = 0;    ///< at crashes: unsynced directory changes that survived
  uint64_t dir_changes_undone = 0;
  uint64_t power_cuts = 0;  ///< crashes that struck in the middle of an operation
};

class sim_file_system final : public file_system {
 public:
  /// The default model's page and sector sizes.
  static constexpr uint64_t page_size = 4096;
  static constexpr uint64_t sector_size = 512;

  explicit sim_file_system(uint64_t seed, sim_crash_model model = {});
  ~sim_file_system() override;
  sim_file_system(const sim_file_system&) = delete;
  sim_file_system& operator=(const sim_file_system&) = delete;

  /// Cuts the power: applies the crash model to every unsynced page, size and directory
  /// change, and invalidates every open handle. The disk then holds only what survived.
  void crash();
  /// Arms a power cut at the (n+1)-th changing operation from now (see the file comment).
  void cut_power_after(uint64_t n) { power_cut_in_ = n + 1; }
  /// Disarms a power cut that has not struck yet.
  void cancel_power_cut() { power_cut_in_.reset(); }
  /// The power went out during an operation and crash() has not been called yet.
  bool powered_off() const { return powered_off_; }

  void set_faults(const sim_disk_faults& f) { faults_ = f; }
  const sim_disk_faults& faults() const { return faults_; }
  void set_crash_model(const sim_crash_model& m) { model_ = m; }
  const sim_disk_counters& counters() const { return counters_; }
  /// Pages written since their file's last successful sync (for tests and the report).
  uint64_t unsynced_pages() const;

  io_result<std::unique_ptr<file>> open(const std::string& path, open_options opts) override;
  io_status rename(const std::string& from, const std::string& to) override;
  io_status remove(const std::string& path) override;
  io_status create_directories(const std::string& path) override;
  io_status sync_directory(const std::string& path) override;
  io_result<std::vector<std::string>> list(const std::string& dir) override;
  bool exists(const std::string& path) override;

  struct inode;      // one file's contents, durable image and dirty pages
  struct directory;  // live and durable entries, and the changes since the last sync
  class sim_file;    // an open handle

 private:
  friend class sim_file;
  bool chance(double p);
  uint64_t below(uint64_t n);
  directory* find_directory(const std::string& path);
  /// Records one change of a directory entry: `target` null removes the name.
  void set_entry(directory& d, const std::string& name, std::shared_ptr<inode> target);
  io_status write_at(inode& node, const std::string& path, std::span<const char> data,
                     uint64_t offset, std::string_view op);
  /// Writes into the page cache (reads see it; the pages are dirty until a sync).
  void put_in_page_cache(inode& node, std::span<const char> data, uint64_t offset);
  io_status sync_inode(inode& node, const std::string& path, std::string_view op);
  void maybe_flip_bit(inode& node, uint64_t offset, size_t length);
  void crash_inode(inode& node);
  void apply_crash_model();
  /// Counts a changing operation; true if the power dies during this one.
  bool power_dies_now();
  /// Cuts the power now: the crash model strikes, later operations fail until crash().
  void power_fails();

  uint64_t rng_state_;
  sim_crash_model model_;
  sim_disk_faults faults_;
  sim_disk_counters counters_;
  uint64_t epoch_ = 0;  // bumped by crash(); handles of older epochs are dead
  std::optional<uint64_t> power_cut_in_;  // changing operations until the cut, this one included
  bool powered_off_ = false;
  std::map<std::string, std::unique_ptr<directory>> dirs_;  // by normalized path
};

}  // namespace ra::storage
