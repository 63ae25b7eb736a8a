// SplitMix64: the project's one source of randomness (data builders, shuffles, the bootstrap, the input
// recorder's reservoir). Written out here (not <random>'s distributions, whose algorithms differ between
// standard libraries) so that a seed means the same samples on every machine.
#pragma once
#include <cstdint>

namespace tinyqat {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform integer in [0, n) (Lemire's multiply-shift; n ≥ 1).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  uint64_t s_;
};

// An independent stream per (seed, purpose, index): sample i never depends on how many came before.
inline uint64_t stream_seed(uint64_t seed, uint64_t purpose, uint64_t index) {
  SplitMix64 a(seed ^ (purpose * 0xD1B54A32D192ED03ULL));
  uint64_t s = a.next();
  SplitMix64 b(s ^ (index * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL));
  return b.next();
}

}  // namespace tinyqat
