// Shape rules: quantization (QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear) and the integer
// convolutions and matmuls (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul).
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

// The type of an optional zero-point input (`def` when it is omitted).
DType zp_type(Ctx& c, const Node& n, size_t i, DType def) {
  if (i < n.inputs.size() && !n.inputs[i].empty()) return c.in(n, i).dtype;
  return def;
}

Out quantize_linear(Ctx& c, const Node& n) {
  ValueInfo v = c.in(n, 0);
  v.dtype = zp_type(c, n, 2, DType::U8);
  return {v};
}

Out dequantize_linear(Ctx& c, const Node& n) {
  ValueInfo v = c.in(n, 0);
  v.dtype = DType::F32;
  return {v};
}

Out dynamic_quantize_linear(Ctx& c, const Node& n) {
  ValueInfo v = c.in(n, 0);
  v.dtype = DType::U8;
  return {v, make(DType::F32, {}), make(DType::U8, {})};
}

Out conv_integer(Ctx& c, const Node& n) {
  const auto& w = c.in(n, 1);
  auto k = weight_kernel(n, w);  // checks w's rank before w.shape[0] is read
  return {infer_window(n, c.in(n, 0), k, w.shape[0], DType::I32)};
}

Out qlinear_conv(Ctx& c, const Node& n) {
  const auto& w = c.in(n, 3);
  DType t = c.in(n, 7).dtype;
  auto k = weight_kernel(n, w);  // checks w's rank before w.shape[0] is read
  return {infer_window(n, c.in(n, 0), k, w.shape[0], t)};
}

Out matmul_integer(Ctx& c, const Node& n) {
  return {infer_matmul(DType::I32, c.in(n, 0), c.in(n, 1), n)};
}

Out qlinear_matmul(Ctx& c, const Node& n) {
  return {infer_matmul(c.in(n, 7).dtype, c.in(n, 0), c.in(n, 3), n)};
}

}  // namespace

void register_quant(Rules& r) {
  r["QuantizeLinear"] = quantize_linear;
  r["DequantizeLinear"] = dequantize_linear;
  r["DynamicQuantizeLinear"] = dynamic_quantize_linear;
  r["ConvInteger"] = conv_integer;
  r["QLinearConv"] = qlinear_conv;
  r["MatMulInteger"] = matmul_integer;
  r["QLinearMatMul"] = qlinear_matmul;
}

}  // namespace tinyqat::shape_rules
