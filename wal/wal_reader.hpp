#pragma once
// Reads one WAL file record by record, in chunks of at most 32 MiB, and applies Ra's
// recovery rule: a damaged record is accepted as the end of the file only if nothing
// acknowledged could have been written after it (a "torn tail"):
//   * fewer bytes are left than a record header needs;
//   * the header is complete and intact but its body runs past the end of the file;
//   * the header or the body fails its CRC and only zero bytes follow the record;
//   * (version 2) the damage lies in the file's last batch: no intact batch record starts
//     after it, and the batch it belongs to (if its batch record is intact) ends the file.
//     A batch is one write and one sync; the writer starts the next only after the sync,
//     so unsynced writeback out of order (zeros, then data of the same batch) is torn,
//     while damage with a later batch behind it is damage to acknowledged data.
// Any other damage is an error naming the file and the offset of the bad record; it is
// never skipped. The reader does not know whether its file is the last one: a torn tail
// in a closed (rolled-over) file is corruption, and its callers treat it so.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/file.hpp"
#include "ra/log_entry.hpp"

namespace ra::storage {

/// A WAL that cannot be read: a bad header, a corrupt record, or an I/O error.
struct wal_error {
  std::string path;
  uint64_t offset = 0;  ///< offset of the bad record (0 for header and open errors)
  std::string reason;
  /// wal_writer::recover: another WAL writer holds the directory (io/directory_lock.hpp).
  bool held_elsewhere = false;
  /// "/data/0000000000000001.wal: record checksum mismatch at offset 4711"
  std::string message() const;
};

/// One entry read back, with the uid of the writer (Raft server) that wrote it.
struct wal_record {
  std::string_view writer_uid;  ///< valid as long as the reader
  bool truncate = false;        ///< written with the truncate flag (an overwrite)
  log_entry entry;
  uint64_t offset = 0;  ///< where the record starts in the file
};

class wal_reader {
 public:
  static constexpr size_t default_chunk_size = size_t{32} << 20;

  enum class step {
    record,       ///< record() holds the next entry
    end_of_file,  ///< every byte of the file was a valid record
    torn_tail,    ///< the file ends in a torn record at torn_tail_offset()
    error,        ///< error() says what and where; reading stops
  };

  /// Opens `path` on the first next(); open and header errors come back from next().
  wal_reader(file_system& fs, std::string path, size_t chunk_size = default_chunk_size);
  /// Reads an already open file (named `path` in errors).
  wal_reader(std::unique_ptr<file> f, std::string path, size_t chunk_size = default_chunk_size);

  /// Advances to the next entry. Writer declarations are consumed silently. After
  /// end_of_file, torn_tail or error, every further call returns the same step.
  step next();

  const wal_record& record() const { return record_; }
  /// Offset at which the valid part of the file ends (set after torn_tail).
  uint64_t torn_tail_offset() const { return torn_offset_; }
  const wal_error& error() const { return error_; }
  const std::string& path() const { return path_; }
  /// Where the next record would start: the end of the valid data read so far.
  uint64_t position() const { return position_; }

 private:
  bool open_and_check_header();
  /// Makes buffer_ hold the file's bytes [offset, offset + n); n must fit in the file.
  bool ensure_buffered(uint64_t offset, size_t n);
  const char* at(uint64_t offset) const { return buffer_.data() + (offset - buffer_offset_); }
  /// True if every byte from `offset` to the end of the file is zero (false on I/O error,
  /// with the error recorded).
  bool only_zeros_from(uint64_t offset);
  /// The torn-tail rule for a damaged record at `bad` whose bytes end at `after` (the
  /// end of its header when the header is damaged).
  bool damage_is_torn_tail(uint64_t bad, uint64_t after);
  /// True if an intact batch record starts at or after `offset` (true on I/O error, so
  /// the damage is not taken for a torn tail; the error is recorded).
  bool batch_record_from(uint64_t offset);
  step fail(uint64_t offset, std::string reason);
  step torn(uint64_t offset);

  file_system* fs_ = nullptr;
  std::unique_ptr<file> file_;
  std::string path_;
  size_t chunk_size_;
  uint64_t file_size_ = 0;
  bool opened_ = false;
  bool io_failed_ = false;
  std::vector<char> buffer_;
  uint64_t buffer_offset_ = 0;  ///< file offset of buffer_[0]
  uint64_t position_ = 0;
  uint8_t version_ = 0;
  /// The batch being read, from its batch record: [batch_start_, batch_end_). Before the
  /// first batch record both are the end of the file header (a batch starts there).
  bool in_batch_ = false;
  uint64_t batch_start_ = 0;
  uint64_t batch_end_ = 0;
  std::unordered_map<uint32_t, std::string> writers_;  ///< declared refs of this file
  wal_record record_;
  uint64_t torn_offset_ = 0;
  wal_error error_;
  std::optional<step> finished_;
};

}  // namespace ra::storage
