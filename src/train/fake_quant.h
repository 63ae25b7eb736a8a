// Per-tensor activation fake-quant as one fused LibTorch autograd function: forward
// y = (saturate(round_half_even(x / s) + zp) − zp) · s — the int8 contract of core/numerics.h, the
// same division and rounding our runtime and ONNX QuantizeLinear use — and a straight-through
// gradient that is zero where x saturated. It recomputes that mask from x in the backward pass instead
// of storing it, and runs 4–5× faster than LibTorch 1.13's fake_quantize_per_tensor_affine on CPU
// (measured in docs/training.md), which is most of what QAT costs over an fp32 epoch.
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace tinyqat::train {

torch::Tensor fake_quant_per_tensor(const torch::Tensor& x, float scale, int32_t zero_point, int32_t qmin,
                                    int32_t qmax);

}  // namespace tinyqat::train
