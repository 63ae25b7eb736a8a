// Per-tensor activation fake-quant as one fused LibTorch autograd function: forward
// y = (saturate(round_half_even(clamp(x, a, b) / s) + zp) − zp) · s — the int8 contract of
// core/numerics.h, the same division and rounding our runtime and ONNX QuantizeLinear use — optionally
// with the activation in front of it folded in (Relu: a = 0, Clip: [a, b]; no activation: ±∞), and a
// straight-through gradient that is zero where the activation clipped or the quantizer saturated. The
// forward pass stores that gradient mask as one byte per element, so the backward pass reads the
// incoming gradient and the mask only. On CPU it runs 4–5× faster than LibTorch 1.13's
// fake_quantize_per_tensor_affine, which is most of what QAT costs over an fp32 epoch (docs/training.md).
#pragma once
#include <cstdint>
#include <limits>

#include <torch/torch.h>

#include "core/numerics.h"

namespace tinyqat::train {

// clamp(x, a, b) where ±∞ means no bound on that side (x itself when both are infinite).
torch::Tensor clamp_between(const torch::Tensor& x, float a, float b);

torch::Tensor fake_quant_per_tensor(const torch::Tensor& x, float scale, int32_t zero_point, int32_t qmin,
                                    int32_t qmax, float clamp_lo = -std::numeric_limits<float>::infinity(),
                                    float clamp_hi = std::numeric_limits<float>::infinity());

// The per-channel int8 weight scale of core/numerics.h (weight_scale) in LibTorch: |w|'s max over every
// axis but `axis`, floored at kWeightAbsmaxFloor, divided by kWeightQMax — shape [w.size(axis)], detached
// like an observer. Bit for bit what quant::quantize_weight_per_channel computes (tests/train).
torch::Tensor weight_scale_per_channel(const torch::Tensor& w, int64_t axis);

}  // namespace tinyqat::train
