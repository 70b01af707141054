#pragma once
// Segment files (Ra's ra_log_segment): one server's log entries, moved out of the WAL
// into files with a fixed index area, so any entry is found by its Raft index without
// scanning. The byte layout is documented in docs/storage-format.md ("Segment files").
//
// A segment is written once by a `segment_writer_file` (append, flush, sync, close) and
// then only read, by any number of `segment_reader`s.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ra/log_entry.hpp"
#include "ra/types.hpp"
#include "io/file.hpp"
#include "ra/segment_config.hpp"

namespace ra::storage {

/// Sanity bound on a header's slot count, so a corrupt header cannot make a reader
/// believe in an index area of gigabytes.
inline constexpr uint32_t segment_max_entries_limit = 1u << 20;

/// The first and last Raft index held (inclusive, contiguous).
struct index_range {
  index_t first{0};
  index_t last{0};
  bool contains(index_t i) const { return first <= i && i <= last; }
  bool operator==(const index_range&) const = default;
};

/// A run of consecutive entries with one term: from `first` up to the next run's first
/// (or the end of the range). A segment's terms are a handful of these (usually one),
/// so they are kept in memory and term lookups never touch the file.
struct term_run {
  index_t first{0};
  term_t term{0};
  bool operator==(const term_run&) const = default;
};

/// The term of `i` in `runs` (ascending by first), assuming `i` is inside the range the
/// runs describe and at or above runs.front().first; empty if runs is empty or i is below.
std::optional<term_t> term_in_runs(const std::vector<term_run>& runs, index_t i);

/// Adds entry (i, t) after the runs, applying the overwrite rule: runs starting at or
/// above `i` are dropped first.
void push_term_run(std::vector<term_run>& runs, index_t i, term_t t);

/// The file name of segment number `n`: "%016llu.segment".
std::string segment_file_name(uint64_t n);
/// The number in a segment file name, or empty if `name` is not one.
std::optional<uint64_t> parse_segment_file_name(const std::string& name);

/// Writes one new segment file. Appends are buffered and reach the file on flush() (data
/// first, then the index slots that point at it, so a slot never points at unwritten
/// data in the page cache); they are durable only after sync() or close().
class segment_writer_file {
 public:
  enum class append_result {
    appended,
    full,            ///< no slot or data space left: start the next segment
    not_contiguous,  ///< the index skips ahead of last + 1: start the next segment
  };

  /// Creates (truncating) the file at `path` and writes its header.
  static io_result<segment_writer_file> create(file_system& fs, std::string path, const segment_config& config);

  segment_writer_file(segment_writer_file&&) noexcept = default;
  segment_writer_file& operator=(segment_writer_file&&) noexcept = default;
  ~segment_writer_file() = default;

  /// Adds `entry` after the previous one. An index at or below the last one is an
  /// overwrite (a follower's divergent tail was replaced): it discards the entries at
  /// and above it, exactly as a reader of the file will. Index 0 is invalid (throws).
  io_result<append_result> append(const log_entry& entry);
  /// Writes the buffered entries to the file (no fsync).
  io_status flush();
  /// flush() + fdatasync.
  io_status sync();
  /// sync() and close the file. The writer must not be used afterwards.
  io_status close();

  const std::string& path() const { return path_; }
  /// The live entries (after overwrites); empty before the first append.
  std::optional<index_range> range() const { return range_; }
  uint32_t slots_used() const { return slots_used_; }
  uint64_t data_bytes() const { return data_end_ - data_start_; }
  /// The terms of the live entries, as runs (see term_run).
  const std::vector<term_run>& terms() const { return terms_; }

 private:
  segment_writer_file(std::unique_ptr<file> f, std::string path, const segment_config& config);

  std::unique_ptr<file> file_;
  std::string path_;
  segment_config config_;
  uint64_t data_start_ = 0;
  uint64_t data_end_ = 0;  ///< file offset after the last appended entry (buffered or not)
  uint32_t slots_used_ = 0;
  std::optional<index_range> range_;
  std::vector<term_run> terms_;
  // Buffered appends, not yet in the file: data bytes from `flushed_data_end_`, slots
  // from slot number `flushed_slots_`.
  std::vector<char> pending_data_;
  std::vector<char> pending_slots_;
  uint64_t flushed_data_end_ = 0;
  uint32_t flushed_slots_ = 0;
};

/// Reads a segment file. open() loads and checks the whole index; entry data is read
/// (and its CRC checked) on demand. Corruption is reported as an io_error with code
/// EBADMSG whose op names what failed and at which file offset.
class segment_reader {
 public:
  /// One live entry's place in the file.
  struct slot {
    index_t index;
    term_t term;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t data_crc = 0;
  };

  static io_result<segment_reader> open(file_system& fs, const std::string& path);

  segment_reader(segment_reader&&) noexcept = default;
  segment_reader& operator=(segment_reader&&) noexcept = default;
  ~segment_reader() = default;

  const std::string& path() const { return path_; }
  /// Empty if the file holds no entries.
  std::optional<index_range> range() const;
  size_t entry_count() const { return slots_.size(); }
  /// Term of the entry at `i`, without I/O; empty if the file does not hold `i`.
  std::optional<term_t> term_at(index_t i) const;
  /// The terms of the live entries as runs (computed from the loaded index).
  std::vector<term_run> terms() const;
  /// The entry at `i`; an error (ERANGE) if the file does not hold it.
  io_result<log_entry> read(index_t i) const;
  /// Appends entries [from, to] ∩ range() to `out`, at most `max_count` of them.
  io_status read_range(index_t from, index_t to, size_t max_count, std::vector<log_entry>& out) const;

 private:
  segment_reader(std::unique_ptr<file> f, std::string path, bool data_checksums, std::vector<slot> slots);
  const slot* find(index_t i) const;
  /// Decodes the entry of `s` from `bytes` (exactly its data), checking the data CRC.
  io_result<log_entry> decode(const slot& s, std::span<const char> bytes) const;

  std::unique_ptr<file> file_;
  std::string path_;
  bool data_checksums_ = true;
  /// Live entries in index order, contiguous: slots_[k] holds index first + k.
  std::vector<slot> slots_;
};

}  // namespace ra::storage
