#include "quant/bootstrap.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace tinyqat::quant {

namespace {

// Sums over one sample's values (centred on the output's mean, so the raw sums keep their precision).
struct Sums {
  double n = 0, a = 0, b = 0, aa = 0, bb = 0, ab = 0;
  void add(const Sums& o) {
    n += o.n;
    a += o.a;
    b += o.b;
    aa += o.aa;
    bb += o.bb;
    ab += o.ab;
  }
  double drop() const {
    const double cov = ab - a * b / n, va = aa - a * a / n, vb = bb - b * b / n;
    const double r = cov / std::sqrt(va * vb);
    return std::isnan(r) ? 2.0 : 1.0 - r;
  }
};

double quantile(const std::vector<double>& sorted, double p) {
  const double pos = p * static_cast<double>(sorted.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  if (i + 1 >= sorted.size()) return sorted.back();
  return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

}  // namespace

DropInterval bootstrap_drop(const std::vector<std::vector<double>>& fp32,
                            const std::vector<std::vector<double>>& int8, int64_t samples, double confidence,
                            int resamples, uint64_t seed) {
  TQ_CHECK(confidence > 0 && confidence < 1, "confidence {} is not in (0, 1)", confidence);
  TQ_CHECK(samples > 0 && resamples > 0 && fp32.size() == int8.size() && !fp32.empty(),
           "bootstrap: nothing to resample");
  const size_t n = static_cast<size_t>(samples);
  std::vector<std::vector<Sums>> per(fp32.size(), std::vector<Sums>(n));
  for (size_t k = 0; k < fp32.size(); ++k) {
    const auto &a = fp32[k], &b = int8[k];
    TQ_CHECK(a.size() == b.size() && !a.empty() && a.size() % n == 0,
             "bootstrap: output {} has {} / {} values, not {} equal samples", k, a.size(), b.size(), n);
    double ma = 0, mb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      ma += a[i];
      mb += b[i];
    }
    ma /= static_cast<double>(a.size());
    mb /= static_cast<double>(b.size());
    const size_t per_sample = a.size() / n;
    for (size_t s = 0; s < n; ++s) {
      Sums& t = per[k][s];
      for (size_t i = s * per_sample; i < (s + 1) * per_sample; ++i) {
        const double x = a[i] - ma, y = b[i] - mb;
        t.n += 1;
        t.a += x;
        t.b += y;
        t.aa += x * x;
        t.bb += y * y;
        t.ab += x * y;
      }
    }
  }
  SplitMix64 rng(seed);
  std::vector<double> drops(static_cast<size_t>(resamples));
  std::vector<size_t> pick(n);
  for (auto& d : drops) {
    for (auto& p : pick) p = static_cast<size_t>(rng.next() % n);  // bias < n / 2^64
    d = -INFINITY;
    for (const auto& out : per) {
      Sums tot;
      for (size_t p : pick) tot.add(out[p]);
      d = std::max(d, tot.drop());
    }
  }
  std::sort(drops.begin(), drops.end());
  DropInterval r;
  r.confidence = confidence;
  r.low = quantile(drops, (1 - confidence) / 2);
  r.high = quantile(drops, (1 + confidence) / 2);
  r.resamples = resamples;
  r.seed = seed;
  return r;
}

}  // namespace tinyqat::quant
