#include "quant/patterns.h"

#include <set>

#include "core/version.h"

namespace tinyqat::quant {

bool is_constant(const Graph& g, const std::string& v) {
  if (g.initializer(v)) return true;
  int p = g.producer(v);
  return p >= 0 && g.nodes[p].op_type == "Constant";
}

void finish_quantized_graph(Model& m) {
  Graph& g = m.graph;
  std::set<std::string> used;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) used.insert(in);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = used.count(it->first) || g.is_graph_output(it->first) ? std::next(it) : g.initializers.erase(it);
  g.topo_sort();
  g.value_info.clear();
  infer_shapes(m);
  m.ir_version = 8;
  m.producer_name = "tinyqat";
  m.producer_version = kVersion;  // not the original producer's version under our name
}

std::optional<WeightedUnit> weighted_unit(const Graph& g, int i, std::string* why) {
  const Node& n = g.nodes[i];
  WeightedUnit u;
  u.node = i;
  auto float_init = [&](size_t k) -> const Tensor* {
    if (!n.input(k)) return nullptr;
    const Tensor* t = g.initializer(*n.input(k));
    return t && t->dtype() == DType::F32 ? t : nullptr;
  };
  const Tensor* w = float_init(1);
  if (n.op_type == "Conv") {
    if (!w) return *why = "weight is not a float initializer", std::nullopt;
    if (n.input(2) && !float_init(2)) return *why = "bias is not a float initializer", std::nullopt;
    u.weight_axis = 0;
  } else if (n.op_type == "Gemm") {
    if (!w || w->rank() != 2) return *why = "B is not a 2-D float initializer", std::nullopt;
    if (n.get_int("transA", 0) != 0) return *why = "transA is not supported", std::nullopt;
    if (n.get_float("alpha", 1.f) != 1.f || n.get_float("beta", 1.f) != 1.f)
      return *why = "alpha/beta other than 1", std::nullopt;
    const Tensor* c = float_init(2);
    if (n.input(2) && (!c || c->numel() != (n.get_int("transB", 0) ? w->dim(0) : w->dim(1))))
      return *why = "C is not a per-output bias", std::nullopt;
    u.weight_axis = n.get_int("transB", 0) ? 0 : 1;
  } else if (n.op_type == "MatMul") {
    if (!w || w->rank() != 2) return *why = "B is not a 2-D float initializer", std::nullopt;
    u.weight_axis = 1;
  } else {
    return *why = "not a weighted op", std::nullopt;
  }
  if (!n.input(0) || is_constant(g, *n.input(0))) return *why = "input is constant", std::nullopt;
  u.input = *n.input(0);
  u.weight = *n.input(1);
  u.bias = n.input(2) ? *n.input(2) : "";
  u.op_output = n.outputs[0];
  u.output = u.op_output;
  auto users = g.consumers(u.op_output);
  if (users.size() == 1 && !g.is_graph_output(u.op_output)) {
    const Node& a = g.nodes[users[0]];
    if (activation_bounds(g, a)) {
      u.activation = users[0];
      u.output = a.outputs[0];
    }
  }
  return u;
}

}  // namespace tinyqat::quant
