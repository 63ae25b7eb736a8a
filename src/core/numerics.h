// The int8 contract (docs/quantization.md): the ONNX QuantizeLinear / DequantizeLinear formulas, written
// once and used by the runtime, the quantization passes and the trainer's fake-quant.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tinyqat {

// round half to even under the default floating-point environment
inline float round_half_even(float x) {
  return std::nearbyint(x);
}

// q = saturate(round_half_even(x / s) + zp) to [qmin, qmax]. NaN maps to zp (as ORT does).
inline int32_t quantize_value(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = round_half_even(x / scale) + static_cast<float>(zp);
  if (!(v == v)) return zp;
  v = std::min(std::max(v, static_cast<float>(qmin)), static_cast<float>(qmax));
  return static_cast<int32_t>(v);
}

inline float dequantize_value(int32_t q, float scale, int32_t zp) {
  return static_cast<float>(q - zp) * scale;
}

// Requantise an exact int32 accumulator: y = saturate(round_half_even(acc · multiplier) + zp).
inline int32_t requantize(int32_t acc, float multiplier, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = round_half_even(static_cast<float>(acc) * multiplier) + static_cast<float>(zp);
  v = std::min(std::max(v, static_cast<float>(qmin)), static_cast<float>(qmax));
  return static_cast<int32_t>(v);
}

}  // namespace tinyqat
