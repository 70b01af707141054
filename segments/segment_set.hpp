#pragma once
// All segment files of one server (Ra's segrefs): which file holds which indexes, reads
// through a segment_cache, deleting what a snapshot made obsolete, and writing new
// segments from entries leaving the WAL.
//
// Overwrites across files: a newer file (higher number) whose first index is at or
// below the end of an older file supersedes the older file's entries from that index
// on, as a follower's divergent tail is replaced. So every file has an *effective*
// range: its own range cut below the first index of every newer file. Effective ranges
// are disjoint and ascend with the file number; a file cut to nothing is "shadowed".

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "segments/segment_cache.hpp"
#include "segments/segment_file.hpp"

namespace ra::storage {

/// One segment file (name, not path, inside the server's directory) and its range.
struct segment_ref {
  std::string file_name;
  index_range range;
  /// The terms of the file's own entries (write_segments fills them in), so the set can
  /// answer term_at from memory. Derived data: not part of equality. Empty = unknown
  /// (then add() opens the file once to learn them).
  std::vector<term_run> terms{};
  bool operator==(const segment_ref& o) const { return file_name == o.file_name && range == o.range; }
};

/// Writes `entries` (in log order; an index at or below a previous one is an overwrite)
/// to new segment files in `dir`, numbered after the highest existing one, each filled
/// up to the config's limits. Each file is written under a ".tmp" name, synced and
/// renamed, and the directory is synced at the end, so a crash never leaves a partial
/// segment under a segment name. Returns the new files in order, with their ranges.
/// This is the function the segment writer calls for one server. `dir` must exist (it is
/// never created here: a deleted server's directory must not come back).
io_result<std::vector<segment_ref>> write_segments(file_system& fs, const std::string& dir,
                                                   std::span<const log_entry> entries, const segment_config& config);

class segment_set {
 public:
  /// Lists `dir` (created if missing), opens every segment to learn its range, and
  /// removes ".segment.tmp" leftovers of an interrupted write_segments. Empty segments
  /// are ignored. Fails on any segment that does not open (corruption is not skipped).
  static io_result<segment_set> open(file_system& fs, std::string dir,
                                     size_t max_open_segments = default_max_open_segments);

  segment_set(segment_set&&) = default;

  /// The non-shadowed segments with their effective ranges, oldest first.
  const std::vector<segment_ref>& refs() const { return live_; }
  /// First and last index over all segments (there may be holes, e.g. across a
  /// snapshot install); empty if there are none.
  std::optional<index_range> range() const;
  /// The segment holding index `i`, if any.
  std::optional<segment_ref> find(index_t i) const;

  /// Term of the entry at `i`; empty if no segment holds it. Served from the terms kept
  /// in memory (see term_run): no file is opened. The core asks for terms constantly
  /// (commit, replication, replies), so this must not cost an index read.
  io_result<std::optional<term_t>> term_at(index_t i);
  /// The entry at `i`; empty if no segment holds it.
  io_result<std::optional<log_entry>> read(index_t i);
  /// Appends entries [from, to] to `out` (at most `max_count`), stopping at the first
  /// index no segment holds.
  io_status read_range(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out);

  /// Registers segments made by write_segments() in this directory (newest last).
  /// Idempotent: a ref the set already knows with the same range is skipped (a server
  /// restarted while the segment writer moved a WAL file learns the new file from the
  /// directory and is then told about it again), and so is an older ref whose file is
  /// gone (deleted meanwhile as covered by a snapshot). Anything else that is not newer
  /// than the known files, or a bad file name, is an error (EINVAL) and adds nothing
  /// more; the refs before it stay added.
  io_status add(std::span<const segment_ref> new_segments);
  /// write_segments() into this set's directory, then add().
  io_result<std::vector<segment_ref>> write(std::span<const log_entry> entries, const segment_config& config);

  /// Deletes, oldest first, the files whose effective entries are all at or below
  /// `snapshot_index` (a shadowed file, holding no live entry, counts as such), then
  /// syncs the directory. Returns the names deleted. A file with any live entry above
  /// `snapshot_index` stays whole, and so does every file after it.
  io_result<std::vector<std::string>> delete_up_to(index_t snapshot_index);

  const std::string& directory() const { return dir_; }
  size_t open_readers() const { return cache_.open_count(); }

 private:
  struct tracked_segment {
    uint64_t number = 0;
    std::string file_name;
    index_range own_range;  ///< as the file itself says
    std::optional<index_range> effective;
    std::vector<term_run> terms;  ///< of own_range; empty if the file could not be read
  };

  segment_set(file_system& fs, std::string dir, size_t max_open_segments);
  void recompute_effective_ranges();
  std::string path_of(const std::string& file_name) const { return dir_ + "/" + file_name; }
  const segment_ref* holder_of(index_t i) const;

  file_system* fs_;
  std::string dir_;
  segment_cache cache_;
  std::vector<tracked_segment> segments_;  ///< ascending file number
  /// The non-shadowed segments with their effective ranges: ascending, disjoint. Their
  /// `terms` stay empty (the tracked segments hold them); live_pos_[k] is the position
  /// in segments_ of live_[k].
  std::vector<segment_ref> live_;
  std::vector<size_t> live_pos_;
};

}  // namespace ra::storage
