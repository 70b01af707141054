#pragma once
// A server's segment file settings (Ra's names and defaults): part of the public
// system_config, so this header pulls in nothing of the segment files themselves.

#include <cstdint>

namespace ra::storage {

/// When a server's segment file is full, and whether its entries carry checksums.
struct segment_config {
  /// Index slots per file: the file is full when they run out.
  uint32_t segment_max_entries = 4096;
  /// The file is full when its data area would grow past this (a single entry larger
  /// than this still gets a file of its own, or it could never be stored).
  uint64_t segment_max_size_bytes = 64'000'000;
  /// CRC32C over every entry's data, checked on read. The index slots always carry a CRC.
  bool segment_compute_checksums = true;
};

}  // namespace ra::storage
