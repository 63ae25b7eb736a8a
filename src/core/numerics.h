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

// QLinearAdd (the runtime's fused DequantizeLinear → Add → QuantizeLinear):
//   y = saturate(rne(((a − za)·sa + (b − zb)·sb) / sy) + zy) to [qmin, qmax],
// evaluated as fma(a − za, sa, (b − zb)·sb) · (1/sy): one fused multiply-add, so every ISA path (and
// any compiler contraction) gives the same bits. The value is clamped to [qmin − zy − 1, qmax − zy + 1]
// before rounding (a NaN, from a non-finite scale, to the lower bound, as the vector max does).
struct QAddParams {
  float sa = 1, sb = 1, inv_sy = 1;
  int32_t za = 0, zb = 0, zy = 0, qmin = 0, qmax = 255;
};
inline int32_t qlinear_add_value(int32_t a, int32_t b, const QAddParams& p) {
  float v = std::fma(static_cast<float>(a - p.za), p.sa, static_cast<float>(b - p.zb) * p.sb) * p.inv_sy;
  const float lo = static_cast<float>(p.qmin - p.zy - 1), hi = static_cast<float>(p.qmax - p.zy + 1);
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return std::clamp(static_cast<int32_t>(round_half_even(v)) + p.zy, p.qmin, p.qmax);
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
