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

// Weights: int8, symmetric (zero point 0), one scale per output channel, values in −kWeightQMax..kWeightQMax
// (−128 is never used, so w and −w quantize alike), scale absmax_c / kWeightQMax, with absmax floored
// at kWeightAbsmaxFloor so that an all-zero channel still gets a positive scale. The quantizer
// (quant/weights.cpp) and the trainer's weight fake-quant (train/trainable.cpp, the same constants in
// LibTorch: max, then one float division) compute it this way; tests prove the two agree bit for bit.
inline constexpr int32_t kWeightQMax = 127;
inline constexpr float kWeightAbsmaxFloor = 1e-12f;
inline float weight_scale(float absmax) {
  return std::max(absmax, kWeightAbsmaxFloor) / static_cast<float>(kWeightQMax);
}

// Requantise an exact int32 accumulator: y = saturate(round_half_even(acc · multiplier) + zp).
inline int32_t requantize(int32_t acc, float multiplier, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = round_half_even(static_cast<float>(acc) * multiplier) + static_cast<float>(zp);
  v = std::min(std::max(v, static_cast<float>(qmin)), static_cast<float>(qmax));
  return static_cast<int32_t>(v);
}

}  // namespace tinyqat
