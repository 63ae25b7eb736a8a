// Weight quantization shared by static PTQ, dynamic PTQ and the QAT exporter: int8, symmetric,
// one scale per output channel along `axis`, values restricted to −127..127, scale absmax_c / 127
// (core/numerics.h weight_scale, the one definition the trainer's fake-quant follows too).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace tinyqat::quant {

struct QuantizedWeight {
  Tensor q;      // int8, same shape
  Tensor scale;  // float32 [channels]
};
QuantizedWeight quantize_weight_per_channel(const Tensor& w, int64_t axis);

// int32 bias for an integer kernel: round_half_even(b[c] / (x_scale · w_scale[c])).
Tensor quantize_bias(const Tensor& b, float x_scale, const Tensor& w_scale, Tensor* bias_scale);

}  // namespace tinyqat::quant
