#pragma once
// The byte layout of WAL files (docs/storage-format.md, "WAL files"): an 8-byte file
// header, then records. Every record has the same 33-byte header, protected by its own
// CRC32C, so a torn or zero-filled record is told apart from a valid one before its
// length is trusted; the body has a second CRC32C (over the header fields and the body).
//
// Encoding appends to a caller-owned std::vector<char> that is reused batch after batch,
// so steady-state encoding allocates nothing per entry.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ra/log_entry.hpp"

namespace ra::storage::wal_format {

inline constexpr char magic[4] = {'R', 'A', 'W', 'A'};
/// Version 2 frames every batch with a batch record (version 1 files have none and are
/// still read, with the version 1 torn-tail rule).
inline constexpr uint8_t version = 2;
inline constexpr uint8_t oldest_readable_version = 1;
/// "RAWA", version, 3 zero bytes of padding.
inline constexpr size_t file_header_size = 8;
/// header_crc u32, type_flags u8, writer_ref u32, index u64, term u64, length u32, body_crc u32.
inline constexpr size_t record_header_size = 33;
/// An entry body starts with kind u8 + system_time i64; the payload follows.
inline constexpr size_t entry_body_fixed_size = 9;
inline constexpr size_t max_writer_uid_size = 1024;

enum class record_type : uint8_t {
  writer_declaration = 1,  ///< body = the writer's uid; binds writer_ref for this file
  entry = 2,               ///< body = kind, system_time, payload
  /// Starts a batch (one write + one sync); index = the byte length of the batch's
  /// records that follow it; no body. It tells a torn last batch (nothing valid starts
  /// after the damage) from damage in the middle (a later batch starts after it).
  batch = 3,
};
/// The writer_ref of every batch record ("BTCH"): lets a scan skip non-candidates cheaply.
inline constexpr uint32_t batch_marker_ref = 0x48435442;

inline constexpr uint8_t type_mask = 0x03;
/// The entry starts an overwrite (or a fresh log after a snapshot): recovery drops the
/// writer's entries at and above its index.
inline constexpr uint8_t flag_truncate = 0x10;
/// wal_compute_checksums was off: body_crc is 0 and is not checked.
inline constexpr uint8_t flag_no_body_checksum = 0x20;
inline constexpr uint8_t known_bits = type_mask | flag_truncate | flag_no_body_checksum;

struct record_header {
  record_type type = record_type::entry;
  bool truncate = false;
  bool body_checksummed = true;
  uint32_t writer_ref = 0;
  uint64_t index = 0;
  uint64_t term = 0;
  uint32_t body_length = 0;
  uint32_t body_crc = 0;
  /// CRC32C of the fields from type_flags to length: the seed of both CRCs.
  uint32_t fields_crc = 0;
};

void append_file_header(std::vector<char>& out);

enum class file_header_status { ok, too_short, bad_magic, bad_version };
file_header_status check_file_header(std::span<const char> bytes);
/// The version byte of a header check_file_header accepted.
inline uint8_t file_version(std::span<const char> bytes) { return static_cast<uint8_t>(bytes[4]); }

/// Appends a writer declaration record (always checksummed). The uid must be 1 to
/// max_writer_uid_size bytes (std::invalid_argument otherwise).
void append_writer_declaration(std::vector<char>& out, uint32_t writer_ref, std::string_view uid);

/// Appends an entry record. Throws std::length_error if the payload cannot be described
/// by a u32 length.
void append_entry(std::vector<char>& out, uint32_t writer_ref, const log_entry& entry,
                  bool truncate, bool compute_checksum);

/// Appends a batch record whose length is not known yet; returns its offset in `out`.
size_t begin_batch(std::vector<char>& out);
/// Sets the length of the batch record at `at` to everything after it in `out`.
void finish_batch(std::vector<char>& out, size_t at);
/// True if the record_header_size bytes at `bytes` are an intact batch record.
bool is_batch_record(const char* bytes);

/// Size of the record append_entry would write for `entry`.
size_t entry_record_size(const log_entry& entry);

enum class header_status {
  ok,
  bad_checksum,  ///< the header CRC does not match: torn, zeroed or corrupt
  invalid,       ///< the CRC matches but the fields make no sense (foreign or buggy writer)
};
/// Decodes the record header at `bytes` (at least record_header_size bytes).
header_status decode_header(const char* bytes, record_header& out);

/// True if the body matches the header's body CRC (always true when not checksummed).
bool body_intact(const record_header& header, std::span<const char> body);

/// Builds the entry from a checked header and its body. False if the body is shorter
/// than an entry body can be.
bool decode_entry(const record_header& header, std::span<const char> body, log_entry& out);

}  // namespace ra::storage::wal_format
