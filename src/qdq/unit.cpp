// The definition of a quantized unit (selectors.h, first section): the op table, the rules of a
// weighted op and the activation that fuses into it. Both forms (select_fp32.cpp, select_qdq.cpp) and so
// both actions (the quantizer's plan, the runtime's QDQ fusion) read these and nothing else.
#include <map>

#include "qdq/selectors.h"

namespace tinyqat::qdq {

OpPattern pattern_of(const Node& n) {
  static const std::map<std::string, OpPattern> table = {
      {"Conv", {Pattern::WeightedUnit}},
      {"ConvTranspose", {Pattern::WeightedUnit}},
      {"Gemm", {Pattern::WeightedUnit}},
      {"MatMul", {Pattern::WeightedUnit}},
      {"Add", {Pattern::BinaryAdd}},
      {"MaxPool", {Pattern::Pool, true}},  // a max of quantized values is one of them: same scale
      {"AveragePool", {Pattern::Pool}},
      {"GlobalAveragePool", {Pattern::Pool}},
      {"ReduceMean", {Pattern::Pool}},
      {"Reshape", {Pattern::PassThrough, true}},
      {"Flatten", {Pattern::PassThrough, true}},
      {"Squeeze", {Pattern::PassThrough, true}},
      {"Unsqueeze", {Pattern::PassThrough, true}},
      {"Identity", {Pattern::PassThrough, true}},
      {"Concat", {Pattern::Concat, true}},
      {"Constant", {Pattern::NoData}},
      {"Shape", {Pattern::NoData}},
      {"Gather", {Pattern::NoData}},
  };
  if (!n.domain.empty()) return {};
  auto it = table.find(n.op_type);
  return it == table.end() ? OpPattern{} : it->second;
}

std::optional<int64_t> weighted_op_axis(const Node& n, const Shape& w, int64_t bias_numel, std::string* why) {
  if (pattern_of(n).pattern != Pattern::WeightedUnit) return *why = "not a weighted op", std::nullopt;
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "ConvTranspose") {
    // Weight [C_in, C_out / group, k...]: per output channel is axis 1, which covers them all only
    // without groups.
    if (n.get_int("group", 1) != 1) return *why = "ConvTranspose with groups is not supported", std::nullopt;
    if (w.size() != 4) return *why = "only 2-D ConvTranspose is supported", std::nullopt;
    return 1;
  }
  if (w.size() != 2) return *why = "B is not 2-D", std::nullopt;
  if (n.op_type == "MatMul") return 1;
  // Gemm: Y = A·B' + C with A as it is; anything else has no integer form here.
  if (n.get_int("transA", 0) != 0) return *why = "transA is not supported", std::nullopt;
  if (n.get_float("alpha", 1.f) != 1.f || n.get_float("beta", 1.f) != 1.f)
    return *why = "alpha/beta other than 1", std::nullopt;
  const bool trans_b = n.get_int("transB", 0) != 0;
  if (bias_numel >= 0 && bias_numel != (trans_b ? w[0] : w[1]))
    return *why = "C is not a per-output bias", std::nullopt;
  return trans_b ? 0 : 1;
}

int fused_activation(const Graph& g, const std::string& v) {
  if (g.is_graph_output(v)) return -1;
  auto users = g.consumers(v);
  if (users.size() != 1 || !activation_bounds(g, g.nodes[users[0]])) return -1;
  return users[0];
}

bool is_constant(const Graph& g, const std::string& v) {
  if (g.initializer(v)) return true;
  int p = g.producer(v);
  return p >= 0 && g.nodes[p].op_type == "Constant";
}

}  // namespace tinyqat::qdq
