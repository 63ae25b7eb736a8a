#include "runtime/fuse.h"

#include "ir/fold_batchnorm.h"

#include <limits>
#include <set>

namespace tinyqat {
namespace {

bool same_known_shape(const Graph& g, const std::string& a, const std::string& b) {
  auto ia = g.value_info.find(a), ib = g.value_info.find(b);
  const ValueInfo* va = ia != g.value_info.end() ? &ia->second : nullptr;
  const ValueInfo* vb = ib != g.value_info.end() ? &ib->second : nullptr;
  for (const auto& in : g.inputs) {
    if (in.name == a) va = &in;
    if (in.name == b) vb = &in;
  }
  if (!va || !vb || !va->has_shape || !vb->has_shape || va->shape.size() != vb->shape.size()) return false;
  for (size_t i = 0; i < va->shape.size(); ++i) {
    const Dim &x = va->shape[i], &y = vb->shape[i];
    if (!(x == y) || (!x.is_known() && x.param.empty())) return false;
  }
  return va->dtype == DType::F32 && vb->dtype == DType::F32;
}

}  // namespace

void fuse_for_runtime(Graph& g) {
  fold_batchnorm(g);  // first: a Conv + BatchNormalization + Clip then fuses whole
  std::set<int> removed;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& conv = g.nodes[i];
    const bool is_conv = conv.op_type == "Conv";
    if ((!is_conv && conv.op_type != "Gemm") || !conv.domain.empty() || removed.count(static_cast<int>(i)))
      continue;
    for (;;) {
      const std::string out = conv.outputs[0];
      if (g.is_graph_output(out)) break;
      auto users = g.consumers(out);
      if (users.size() != 1 || removed.count(users[0])) break;
      Node& next = g.nodes[users[0]];
      const bool has_act = conv.has(kActMin);
      if (is_conv && next.op_type == "Add" && !has_act && !conv.has(kFusedAdd) && next.inputs.size() == 2 &&
          next.inputs[0] != next.inputs[1]) {
        const std::string other = next.inputs[0] == out ? next.inputs[1] : next.inputs[0];
        if (!same_known_shape(g, out, other) && !same_known_shape(g, next.outputs[0], other)) break;
        conv.inputs.resize(3);
        conv.inputs.push_back(other);
        conv.attrs[kFusedAdd] = Attribute::of_int(1);
      } else if ((next.op_type == "Relu" || next.op_type == "Clip") && !has_act) {
        auto bounds = activation_bounds(g, next);
        if (!bounds) break;
        conv.attrs[kActMin] = Attribute::of_float(bounds->first);
        conv.attrs[kActMax] = Attribute::of_float(bounds->second);
      } else {
        break;
      }
      conv.outputs[0] = next.outputs[0];
      removed.insert(users[0]);
    }
  }
  if (removed.empty()) return;
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed.count(static_cast<int>(i))) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  g.topo_sort();  // a fused residual may be produced after the conv's old position
}

}  // namespace tinyqat
