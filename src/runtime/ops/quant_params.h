// The parameters of the integer operators, read and checked one way by every kernel that takes them
// (ops/quant.cpp: QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, Quantize/DequantizeLinear;
// ops/qconv_transpose.cpp: QLinearConvTranspose). Defined in ops/quant.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/kernels/qgemm.h"

namespace tinyqat {

bool is_int8(DType t);  // uint8 or int8
// Element i of an int8 / uint8 / int32 tensor as int32 (0 for other types).
int32_t int_at(const Tensor& t, int64_t i);
// A zero-point input as 1 or `n_expected` values (all 0 when absent); Error naming `what` otherwise.
std::vector<int32_t> zero_points(const Tensor* zp, int64_t n_expected, const Node& node, const char* what);
// A float32 input's values; Error naming `what` for another type.
std::vector<float> floats_of(const Tensor& t, const Node& n, const char* what);
// A per-tensor parameter (x_scale, y_scale): an f32 tensor of one value.
float scalar_of(const Tensor& t, const Node& n, const char* what);
// The requantisation of a QLinear* node: per-channel multiplier x_s·w_s[c]/y_s (in fp32, as ORT; one per
// w_scale value), the output zero point, and the clamp: the output type's range ∩ a fused activation's
// [act_lo, act_hi] (runtime fusion attributes, a real-valued range) quantized with the output scale.
QRequant make_requant(const Node& n, float xs, const std::vector<float>& ws, float ys, const Tensor& yzp,
                      float act_lo, float act_hi);
// A float output's per-channel scale x_s·w_s[c] (one per w_scale value).
std::vector<float> float_scales(float xs, const std::vector<float>& ws);

}  // namespace tinyqat
