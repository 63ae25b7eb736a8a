#include "quant/observers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/numerics.h"

namespace tinyqat::quant {

void RangeObserver::observe_minmax(const Tensor& t) {
  TQ_CHECK(t.dtype() == DType::F32, "calibration: tensor '{}' is {}, not float32", name_,
           dtype_name(t.dtype()));
  const float* p = t.data<float>();
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = p[i];
    TQ_CHECK(std::isfinite(v), "calibration: tensor '{}' holds {} (NaN or Inf): check the calibration data",
             name_, v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (t.numel() == 0) return;
  min_ = seen_ ? std::min(min_, lo) : lo;
  max_ = seen_ ? std::max(max_, hi) : hi;
  seen_ = true;
}

void RangeObserver::merge_minmax(const RangeObserver& o) {
  if (!o.seen_) return;
  min_ = seen_ ? std::min(min_, o.min_) : o.min_;
  max_ = seen_ ? std::max(max_, o.max_) : o.max_;
  seen_ = true;
}

void RangeObserver::observe_histogram(const Tensor& t, ActScheme scheme) {
  if (!seen_) return;
  hist_abs_ = scheme == ActScheme::Symmetric;
  if (hist_.empty()) hist_.assign(kBins, 0.0);
  const float lo = hist_abs_ ? 0.f : std::min(min_, 0.f);
  const float hi = hist_abs_ ? std::max(std::fabs(min_), std::fabs(max_)) : std::max(max_, 0.f);
  const float width = (hi - lo) / kBins;
  if (!(width > 0)) return;
  const float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = hist_abs_ ? std::fabs(p[i]) : p[i];
    int b = static_cast<int>((v - lo) / width);
    hist_[std::clamp(b, 0, kBins - 1)] += 1.0;
  }
}

// [−t, t] for symmetric; for asymmetric a threshold t ∈ (0, 1] scales the observed range.
std::pair<float, float> RangeObserver::from_threshold(float t) const {
  if (hist_abs_) return {std::max(min_, -t), std::min(max_, t)};
  return {std::min(min_, 0.f) * t, std::max(max_, 0.f) * t};
}

float RangeObserver::percentile_threshold(double p) const {
  double total = 0;
  for (double c : hist_) total += c;
  if (hist_abs_) {
    const float absmax = std::max(std::fabs(min_), std::fabs(max_));
    double acc = 0, want = total * p / 100.0;
    for (int b = 0; b < kBins; ++b) {
      acc += hist_[b];
      if (acc >= want) return absmax * (b + 1) / kBins;
    }
    return absmax;
  }
  return 1.f;  // asymmetric percentiles are applied in range()
}

// TensorRT-style KL calibration on the |x| histogram: the threshold whose 128-level quantized
// distribution diverges least from the clipped reference distribution.
float RangeObserver::entropy_threshold() const {
  const float absmax =
      hist_abs_ ? std::max(std::fabs(min_), std::fabs(max_)) : std::max(max_ - std::min(min_, 0.f), 0.f);
  constexpr int kLevels = 128;
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = kBins;
  for (int i = kLevels; i <= kBins; i += 16) {
    std::vector<double> P(hist_.begin(), hist_.begin() + i);
    double outliers = 0;
    for (int b = i; b < kBins; ++b) outliers += hist_[b];
    P[i - 1] += outliers;
    std::vector<double> Q(i, 0.0);
    const double per = static_cast<double>(i) / kLevels;
    for (int l = 0; l < kLevels; ++l) {
      int b0 = static_cast<int>(std::floor(l * per)),
          b1 = std::min(i, static_cast<int>(std::floor((l + 1) * per)));
      double sum = 0;
      int nonzero = 0;
      for (int b = b0; b < b1; ++b) {
        sum += hist_[b];
        nonzero += hist_[b] > 0;
      }
      for (int b = b0; b < b1; ++b)
        if (hist_[b] > 0) Q[b] = sum / nonzero;
    }
    double ps = 0, qs = 0;
    for (int b = 0; b < i; ++b) ps += P[b], qs += Q[b];
    if (ps <= 0 || qs <= 0) continue;
    double kl = 0;
    for (int b = 0; b < i; ++b) {
      if (P[b] <= 0) continue;
      const double p = P[b] / ps, q = Q[b] > 0 ? Q[b] / qs : 1e-12;
      kl += p * std::log(p / q);
    }
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  const float t = absmax * best_i / kBins;
  return hist_abs_ ? t : t / std::max(absmax, 1e-12f);
}

// The threshold minimising the expected squared quantization error (rounding + clipping) over the
// histogram, for the 8-bit grid the scheme uses.
float RangeObserver::mse_threshold() const {
  const float lo0 = hist_abs_ ? 0.f : std::min(min_, 0.f);
  const float hi0 = hist_abs_ ? std::max(std::fabs(min_), std::fabs(max_)) : std::max(max_, 0.f);
  const float width = (hi0 - lo0) / kBins;
  double best = std::numeric_limits<double>::infinity();
  float best_t = 1.f;
  for (int step = 1; step <= 100; ++step) {
    const float frac = step / 100.f;
    float lo = hist_abs_ ? -hi0 * frac : lo0 * frac, hi = hi0 * frac;
    QParams q = qparams_for_range(lo, hi, hist_abs_ ? ActScheme::Symmetric : ActScheme::Asymmetric);
    double err = 0;
    for (int b = 0; b < kBins; ++b) {
      if (hist_[b] == 0) continue;
      const float c = lo0 + (b + 0.5f) * width;
      const float r = dequantize_value(quantize_value(c, q.scale, q.zero_point, q.qmin(), q.qmax()), q.scale,
                                       q.zero_point);
      err += hist_[b] * double(c - r) * double(c - r);
    }
    if (err < best) best = err, best_t = frac;
  }
  return hist_abs_ ? hi0 * best_t : best_t;
}

std::pair<float, float> RangeObserver::range(const QConfig& cfg) const {
  if (!seen_) return {0.f, 0.f};
  if (cfg.method == CalibMethod::MinMax || hist_.empty()) return {min_, max_};
  switch (cfg.method) {
    case CalibMethod::Percentile:
      if (!hist_abs_) {
        // Lower and upper percentiles of the value histogram.
        double total = 0;
        for (double c : hist_) total += c;
        const float lo0 = std::min(min_, 0.f), width = (std::max(max_, 0.f) - lo0) / kBins;
        double acc = 0;
        float lo = min_, hi = max_;
        bool lo_set = false;
        for (int b = 0; b < kBins; ++b) {
          acc += hist_[b];
          if (!lo_set && acc >= total * (100.0 - cfg.percentile) / 100.0) lo = lo0 + b * width, lo_set = true;
          if (acc >= total * cfg.percentile / 100.0) {
            hi = lo0 + (b + 1) * width;
            break;
          }
        }
        return {std::min(lo, 0.f), std::max(hi, 0.f)};
      }
      return from_threshold(percentile_threshold(cfg.percentile));
    case CalibMethod::Entropy:
      return from_threshold(entropy_threshold());
    case CalibMethod::Mse:
      return from_threshold(mse_threshold());
    default:
      return {min_, max_};
  }
}

}  // namespace tinyqat::quant
