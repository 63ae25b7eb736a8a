// A bootstrap interval of the PLCC drop: the drop measured on a few hundred samples has sampling noise of
// the order of the budgets, so the gate can ask for the upper end of an interval instead of the point.
// Samples (not values) are resampled with replacement — an image's pixels move together — from a fixed
// seed, so the interval is the same on every run and machine.
#pragma once
#include <cstdint>
#include <vector>

namespace tinyqat::quant {

inline constexpr int kBootstrapResamples = 2000;
inline constexpr uint64_t kBootstrapSeed = 20260101;

struct DropInterval {
  double confidence = 0;  // e.g. 0.95; 0 = not computed
  double low = 0, high = 0;
  int resamples = 0;
  uint64_t seed = 0;
};

// fp32[k] / int8[k]: output k's values, `samples` equal blocks of consecutive values (one per sample).
// The statistic is the gate's: the worst output's 1 − PLCC (a NaN PLCC counts as 2). Percentile interval
// at (1 − confidence) / 2 and (1 + confidence) / 2. Error when the sizes do not split into samples.
DropInterval bootstrap_drop(const std::vector<std::vector<double>>& fp32,
                            const std::vector<std::vector<double>>& int8, int64_t samples, double confidence,
                            int resamples = kBootstrapResamples, uint64_t seed = kBootstrapSeed);

}  // namespace tinyqat::quant
