#include "runtime/latency.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace tinyqat {

Latency time_runs(Executor& ex, const std::vector<std::pair<std::string, Tensor>>& feeds, int warmup,
                  int iterations) {
  TQ_CHECK(iterations >= 1, "latency: at least one timed run is needed (got {})", iterations);
  for (int i = 0; i < warmup; ++i) ex.run(feeds);
  Latency l;
  while (l.settle_runs < 2 * RunModeChooser::kMeasureRuns && !ex.run_mode_settled(feeds)) {
    ex.run(feeds);
    ++l.settle_runs;
  }
  ex.reset_profile();  // a profile (bench --profile, --trace) covers the timed runs only
  l.ms.resize(iterations);
  for (int i = 0; i < iterations; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ex.run(feeds);
    l.ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  std::vector<double> sorted = l.ms;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  // Percentiles interpolate between neighbours (numpy's default), so p50 is the median.
  auto pct = [&](double q) {
    const double pos = q / 100.0 * static_cast<double>(n - 1);
    const size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, n - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
  };
  l.median = pct(50);
  l.p90 = pct(90);
  l.p99 = pct(99);
  l.min = sorted[0];
  l.max = sorted[n - 1];
  l.mean = std::accumulate(l.ms.begin(), l.ms.end(), 0.0) / static_cast<double>(n);
  double var = 0;
  for (double v : l.ms) var += (v - l.mean) * (v - l.mean);
  l.stddev = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0;
  return l;
}

}  // namespace tinyqat
