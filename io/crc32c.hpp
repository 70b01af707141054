#pragma once
// CRC32C (Castagnoli), the checksum of every record in WAL, segment and snapshot files.
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time),
// else a slicing-by-8 table implementation. Both give identical results.

#include <cstddef>
#include <cstdint>
#include <span>

namespace ra::storage {

/// CRC32C of `data`, continuing from `crc` (pass 0 to start).
uint32_t crc32c(std::span<const char> data, uint32_t crc = 0);
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

/// True if the hardware path is in use (for benchmarks and diagnostics).
bool crc32c_hardware();

/// The two implementations behind crc32c(), exposed so tests can compare them.
/// crc32c_sse42 may only be called when crc32c_hardware() is true.
uint32_t crc32c_software(const void* data, size_t size, uint32_t crc = 0);
uint32_t crc32c_sse42(const void* data, size_t size, uint32_t crc = 0);

}  // namespace ra::storage
