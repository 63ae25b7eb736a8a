// Shared by the int8 microbenchmarks: the two problem shapes, deterministic data, a timer.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

struct Shape {
  const char* name;
  int C, H, W, M, K, pad;  // input channels, height, width, output channels, kernel size, padding
  double macs() const { return double(M) * C * K * K * H * W; }  // stride 1, "same" output
};
inline const Shape kShapes[] = {
    {"learned_filter 3x3 16->16 @224x224", 16, 224, 224, 16, 3, 1},
    {"pointwise 1x1 64->64 @28x28", 64, 28, 28, 64, 1, 0},
};

inline std::vector<uint8_t> lcg_bytes(size_t n, uint32_t seed, int lo, int hi) {
  std::vector<uint8_t> v(n);
  uint64_t s = seed * 6364136223846793005ULL + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<uint8_t>(lo + int((s >> 33) % uint64_t(hi - lo + 1)));
  }
  return v;
}

// Median time (ms) of `reps` runs after `warm` warm-up runs.
inline double time_ms(const std::function<void()>& f, int reps = 50, int warm = 5) {
  for (int i = 0; i < warm; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Peak assumption (docs/decisions/0002): GHz × int8 MACs per cycle.
constexpr double kGHz = 2.6;
constexpr double kPeakMacsPerCycle = 128;  // 2 × vpdpbusd zmm (64 MACs each) per cycle
inline double pct_peak(double macs, double ms) {
  return 100.0 * macs / (ms * 1e-3) / (kGHz * 1e9 * kPeakMacsPerCycle);
}
inline void report(const char* who, const Shape& s, double ms) {
  std::printf("| %s | %s | %.3f | %.1f | %.1f |\n", who, s.name, ms, s.macs() / (ms * 1e-3) / 1e9,
              pct_peak(s.macs(), ms));
}
