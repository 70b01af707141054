#pragma once
// The byte format of one snapshot file, shared by the directory operations
// (snapshot_file.cpp) and the chunked transfer (snapshot_transfer.cpp):
//
//   "RASN" | version u8 | crc32c u32 | meta_length u32 | meta | machine state
//
// The CRC covers everything after itself (meta_length, meta, state). Integers are
// little-endian. See docs/storage-format.md ("Snapshot files").

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libra/messages.hpp"
#include "io/file.hpp"

namespace ra::storage::snapshot_format {

inline constexpr size_t header_size = 13;
/// Offset of the first byte the CRC covers (the meta length).
inline constexpr size_t crc_covered_from = 9;
/// Bound on the meta length a reader accepts, so a corrupt length cannot make it
/// allocate gigabytes (a meta is ~30 bytes plus the member names).
inline constexpr uint32_t max_meta_length = 64 * 1024 * 1024;

std::vector<char> encode_meta(const snapshot_meta& meta);
std::optional<snapshot_meta> decode_meta(std::span<const char> bytes);

/// The header for a file whose CRC-covered bytes have the given CRC.
std::array<char, header_size> encode_header(uint32_t crc, uint32_t meta_length);
/// The CRC of the meta-length field and the meta: the CRC-covered bytes before the
/// state; continue it over the state to get the file's CRC.
uint32_t crc_of_meta_part(std::span<const char> meta_bytes);

/// Where things are in one snapshot file, from its header and meta.
struct layout {
  snapshot_meta meta;
  uint32_t stored_crc = 0;
  uint32_t meta_crc = 0;  ///< crc_of_meta_part of the stored meta
  uint64_t state_offset = 0;
  uint64_t state_size = 0;
};

io_error corrupt(const std::string& path, const std::string& what);

/// Reads and checks the header and meta (not the state CRC).
io_result<layout> read_layout(const file& f);
/// Streams the state through the CRC (bounded memory) and compares with the header.
io_status verify_crc(const file& f, const layout& l);
/// Writes a complete snapshot file (header, meta, state) at the current position.
io_status write_contents(file& f, const snapshot_meta& meta, std::span<const char> state);

}  // namespace ra::storage::snapshot_format
