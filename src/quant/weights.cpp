#include "quant/weights.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/numerics.h"

namespace tinyqat::quant {

QuantizedWeight quantize_weight_per_channel(const Tensor& w, int64_t axis) {
  TQ_CHECK(w.dtype() == DType::F32 && axis >= 0 && axis < w.rank(),
           "weight quantization: bad tensor or axis");
  const int64_t C = w.dim(static_cast<int>(axis));
  int64_t inner = 1;
  for (int i = static_cast<int>(axis) + 1; i < w.rank(); ++i) inner *= w.dim(i);
  const float* p = w.data<float>();
  std::vector<float> absmax(C, 0.f);
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t c = (i / inner) % C;
    TQ_CHECK(std::isfinite(p[i]), "weight quantization: a weight is NaN or Inf");
    absmax[c] = std::max(absmax[c], std::fabs(p[i]));
  }
  QuantizedWeight r{Tensor::empty(DType::I8, w.shape()), Tensor::empty(DType::F32, {C})};
  for (int64_t c = 0; c < C; ++c) r.scale.data<float>()[c] = weight_scale(absmax[c]);
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t c = (i / inner) % C;
    r.q.data<int8_t>()[i] =
        static_cast<int8_t>(quantize_value(p[i], r.scale.data<float>()[c], 0, -kWeightQMax, kWeightQMax));
  }
  return r;
}

Tensor quantize_bias(const Tensor& b, float x_scale, const Tensor& w_scale, Tensor* bias_scale) {
  const int64_t C = b.numel();
  TQ_CHECK(w_scale.numel() == C || w_scale.numel() == 1, "bias quantization: {} biases for {} weight scales",
           C, w_scale.numel());
  Tensor q = Tensor::empty(DType::I32, {C});
  *bias_scale = Tensor::empty(DType::F32, {C});
  for (int64_t c = 0; c < C; ++c) {
    const float s = x_scale * w_scale.data<float>()[w_scale.numel() == 1 ? 0 : c];
    bias_scale->data<float>()[c] = s;
    const double v = std::nearbyint(static_cast<double>(b.data<float>()[c]) / s);
    q.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(v, double(std::numeric_limits<int32_t>::min()),
                                                           double(std::numeric_limits<int32_t>::max())));
  }
  return q;
}

}  // namespace tinyqat::quant
