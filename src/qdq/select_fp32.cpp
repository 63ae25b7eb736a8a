// The selectors on an fp32 graph: what the quantizer's plan (quant/ptq_static.cpp) reads.
#include <algorithm>

#include <fmt/format.h>

#include "qdq/selectors.h"

namespace tinyqat::qdq {

std::optional<WeightedUnit> select_weighted_unit(const Graph& g, int i, std::string* why) {
  const Node& n = g.nodes[i];
  if (pattern_of(n).pattern != Pattern::WeightedUnit) return *why = "not a weighted op", std::nullopt;
  auto float_init = [&](size_t k) -> const Tensor* {
    if (!n.input(k)) return nullptr;
    const Tensor* t = g.initializer(*n.input(k));
    return t && t->dtype() == DType::F32 ? t : nullptr;
  };
  const bool conv = n.op_type == "Conv" || n.op_type == "ConvTranspose";
  const Tensor* w = float_init(1);
  if (!w)
    return *why = conv ? "weight is not a float initializer" : "B is not a 2-D float initializer",
           std::nullopt;
  const Tensor* b = float_init(2);
  if (n.input(2) && !b)
    return *why = conv ? "bias is not a float initializer" : "C is not a per-output bias", std::nullopt;
  auto axis = weighted_op_axis(n, w->shape(), b ? b->numel() : -1, why);
  if (!axis) return std::nullopt;
  if (!n.input(0) || is_constant(g, *n.input(0))) return *why = "input is constant", std::nullopt;
  WeightedUnit u;
  u.node = i;
  u.weight_axis = *axis;
  u.input = *n.input(0);
  u.weight = *n.input(1);
  u.bias = b ? *n.input(2) : "";
  u.op_output = n.outputs[0];
  u.output = u.op_output;
  u.activation = fused_activation(g, u.op_output);
  if (u.activation >= 0) u.output = g.nodes[u.activation].outputs[0];
  return u;
}

Fp32Selection select_fp32(const Graph& g, int i, const std::function<bool(const std::string&)>& quantized) {
  const Node& n = g.nodes[i];
  const OpPattern op = pattern_of(n);
  Fp32Selection s;
  auto stays_float = [&](bool silent) {
    s = Fp32Selection{};
    s.why = fmt::format("{} has no int8 form here", n.op_type);
    s.silent = silent;
    return s;
  };
  auto input_quantized = [&](size_t k) { return n.input(k) && quantized(*n.input(k)); };
  s.pattern = op.pattern;
  switch (op.pattern) {
    case Pattern::WeightedUnit:
      s.unit = select_weighted_unit(g, i, &s.why);
      if (!s.unit) {
        s.pattern = Pattern::None;
        return s;
      }
      s.quantize = {s.unit->input, s.unit->output};
      s.counts_as_quantized = true;
      return s;
    case Pattern::BinaryAdd:
      if (n.inputs.size() != 2 || is_constant(g, n.inputs[0]) || is_constant(g, n.inputs[1]))
        return stays_float(false);
      s.quantize = {n.inputs[0], n.inputs[1], n.outputs[0]};
      s.counts_as_quantized = true;
      return s;
    case Pattern::Pool:
      if (!input_quantized(0)) return stays_float(false);
      if (op.ties) s.ties.emplace_back(n.inputs[0], n.outputs[0]);
      s.quantize = {n.outputs[0]};
      s.counts_as_quantized = true;
      return s;
    case Pattern::PassThrough:
      if (!input_quantized(0)) return stays_float(true);
      s.ties.emplace_back(n.inputs[0], n.outputs[0]);
      s.quantize = {n.outputs[0]};
      return s;
    case Pattern::Concat:
      if (!std::all_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& v) { return quantized(v); }))
        return stays_float(true);
      for (const auto& v : n.inputs) s.ties.emplace_back(n.outputs[0], v);
      s.quantize = {n.outputs[0]};
      s.counts_as_quantized = true;
      return s;
    case Pattern::NoData:
      return stays_float(true);
    case Pattern::None:
      break;
  }
  return stays_float(false);
}

std::set<std::string> float_heads(const Graph& g) {
  std::set<std::string> heads;
  for (const auto& out : g.outputs) {
    // Walk back through shape ops and activations while each value is read by the chain alone; keep
    // the chain only when it starts at a weighted unit or a residual Add.
    std::vector<std::string> chain;
    std::string v = out.name;
    for (;;) {
      const int p = g.producer(v);
      if (p < 0) break;
      const Node& n = g.nodes[p];
      const Pattern pattern = pattern_of(n).pattern;
      std::string why;
      if (pattern == Pattern::WeightedUnit) {
        auto u = select_weighted_unit(g, p, &why);
        if (u) {
          chain.push_back(v);
          heads.insert(chain.begin(), chain.end());
        }
        break;
      }
      if (pattern == Pattern::BinaryAdd) {
        if (n.inputs.size() == 2 && !is_constant(g, n.inputs[0]) && !is_constant(g, n.inputs[1])) {
          chain.push_back(v);
          heads.insert(chain.begin(), chain.end());
        }
        break;
      }
      if (pattern != Pattern::PassThrough && !activation_bounds(g, n)) break;
      chain.push_back(v);
      if (!n.input(0) || g.consumers(*n.input(0)).size() != 1) break;
      v = *n.input(0);
    }
  }
  return heads;
}

}  // namespace tinyqat::qdq
