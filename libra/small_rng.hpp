#pragma once
// A tiny PRNG for election jitter and vote tokens: SplitMix64 (Steele, Lea, Flood 2014).
// 8 bytes of state instead of mt19937_64's 2.5 KB — thousands of servers per process
// each carry one. Statistical quality is ample for timeouts; it is not for cryptography.

#include <cstdint>
#include <limits>

namespace ra {

class small_rng {
 public:
  using result_type = uint64_t;
  explicit small_rng(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace ra
