#pragma once
// The simulator's only source of randomness: splitmix64, seeded from the run's seed.
// Own arithmetic instead of <random> distributions, whose output differs between standard
// libraries: a seed must replay the same run everywhere.

#include <cstdint>
#include <vector>

namespace ra::sim {

class rng {
 public:
  explicit rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (0 if n == 0). The modulo bias is irrelevant at these sizes.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  /// Uniform in [lo, hi] (lo if hi < lo).
  int64_t between(int64_t lo, int64_t hi) {
    return hi <= lo ? lo : lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  /// True with probability p.
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  /// A number in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
  /// An independent stream (so adding draws to one component does not shift another).
  rng fork() { return rng(next()); }

 private:
  uint64_t state_;
};

/// Mixes values into a 64-bit hash (FNV-1a over the bytes), for trace hashes and seeds.
inline uint64_t hash_mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 0x100000001b3ULL;
  }
  return h;
}
inline constexpr uint64_t hash_start = 0xcbf29ce484222325ULL;

inline uint64_t hash_bytes(uint64_t h, const char* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace ra::sim
