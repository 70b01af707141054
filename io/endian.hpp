#pragma once
// Little-endian encoding of fixed-width integers for every on-disk format (WAL, segments,
// snapshots, meta store). Byte by byte, so the layout is the same on any host; compilers
// turn these loops into single loads and stores on little-endian machines.

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace ra::storage {

template <class T>
void store_le(char* p, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>(static_cast<uint8_t>(u >> (8 * i)));
}

template <class T>
T load_le(const char* p) {
  std::make_unsigned_t<T> u = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    u |= static_cast<std::make_unsigned_t<T>>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<T>(u);
}

template <class T>
void append_le(std::vector<char>& out, T v) {
  auto at = out.size();
  out.resize(at + sizeof(T));
  store_le(out.data() + at, v);
}

/// The low `bytes` bytes at p as an unsigned little-endian number (bytes <= 8).
inline uint64_t load_le_bytes(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

}  // namespace ra::storage
