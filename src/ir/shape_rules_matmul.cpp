// Shape rules: Gemm and MatMul (fp32). The integer matmuls are in shape_rules_quant.cpp.
#include "core/error.h"
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

Out gemm(Ctx& c, const Node& n) {
  const auto& a = c.in(n, 0);
  const auto& b = c.in(n, 1);
  if (!a.has_shape || !b.has_shape) return {unknown_shape(DType::F32)};
  TQ_CHECK(a.shape.size() == 2 && b.shape.size() == 2, "{}: Gemm inputs must be 2-D (got {} and {})",
           n.describe(), a.shape_str(), b.shape_str());
  Dim M = n.get_int("transA", 0) ? a.shape[1] : a.shape[0];
  Dim N = n.get_int("transB", 0) ? b.shape[0] : b.shape[1];
  return {make(DType::F32, {M, N})};
}

Out matmul(Ctx& c, const Node& n) {
  return {infer_matmul(DType::F32, c.in(n, 0), c.in(n, 1), n)};
}

}  // namespace

void register_matmul(Rules& r) {
  r["Gemm"] = gemm;
  r["MatMul"] = matmul;
}

}  // namespace tinyqat::shape_rules
