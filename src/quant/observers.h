// Observers measure the range of one activation tensor over a calibration set. Pass 1 records min/max;
// methods that need a distribution (percentile, entropy, mse) take a second pass into a histogram
// spanning pass 1's range.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "quant/qconfig.h"

namespace tinyqat::quant {

class RangeObserver {
 public:
  static constexpr int kBins = 2048;
  explicit RangeObserver(std::string tensor_name = "") : name_(std::move(tensor_name)) {}

  // Pass 1. Throws Error when the tensor holds NaN or Inf (naming the tensor).
  void observe_minmax(const Tensor& t);
  // Pass 2 (only for percentile/entropy/mse).
  void observe_histogram(const Tensor& t, ActScheme scheme);
  // Merges another observer's pass-1 range (tensors that must share parameters).
  void merge_minmax(const RangeObserver& o);

  bool seen() const { return seen_; }
  float min() const { return min_; }
  float max() const { return max_; }
  // The range to quantize with.
  std::pair<float, float> range(const QConfig& cfg) const;

 private:
  std::pair<float, float> from_threshold(float t) const;
  float percentile_threshold(double p) const;
  float entropy_threshold() const;
  float mse_threshold() const;

  std::string name_;
  bool seen_ = false;
  float min_ = 0, max_ = 0;
  // Histogram of |x| over [0, absmax] (symmetric) or of x over [min, max] (asymmetric).
  std::vector<double> hist_;
  bool hist_abs_ = true;
};

}  // namespace tinyqat::quant
