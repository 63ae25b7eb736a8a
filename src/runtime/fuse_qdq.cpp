// QDQ → integer operators, done once when an Executor is built, as named passes over the units that
// src/qdq selects (the same units the quantizer planned): DequantizeLinear(x_q) → Conv / ConvTranspose /
// Gemm / MatMul (with DequantizeLinear'd constant int8 weights and an int32 bias at scale x_s·w_s) →
// QuantizeLinear becomes one QLinearConv / QLinearConvTranspose (runtime-internal) / QLinearMatMul, so the
// runtime executes exact int32 sums instead of simulating in float; residual adds become QLinearAdd; a
// following DequantizeLinear → Relu/Clip → QuantizeLinear with the same parameters becomes a clamp inside the
// integer op. A unit whose output no QuantizeLinear reads (a float head: qdq::float_heads) becomes the
// integer op without y_scale / y_zero_point, which writes float straight from the int32 sums (its Relu/Clip a
// float clamp).
#include <map>
#include <set>

#include "qdq/selectors.h"
#include "runtime/fuse.h"

namespace tinyqat {
namespace {

// Identical QuantizeLinear / DequantizeLinear nodes (same inputs and axis) computed once: exporters
// write one pair per consumer for ONNX Runtime's sake.
void merge_duplicate_qdq(Graph& g) {
  for (const char* op : {"QuantizeLinear", "DequantizeLinear"}) {
    std::map<std::string, std::string> first;  // key → output of the node kept
    std::map<std::string, std::string> rename;
    std::vector<Node> kept;
    for (auto& n : g.nodes) {
      for (auto& in : n.inputs)
        if (auto it = rename.find(in); it != rename.end()) in = it->second;
      if (n.op_type == op && n.domain.empty() && n.outputs.size() == 1 && !g.is_graph_output(n.outputs[0])) {
        std::string key = std::to_string(n.get_int("axis", 1));
        for (const auto& in : n.inputs) key += "|" + in;
        auto [it, fresh] = first.emplace(key, n.outputs[0]);
        if (!fresh) {
          rename[n.outputs[0]] = it->second;
          continue;
        }
      }
      kept.push_back(std::move(n));
    }
    for (auto& o : g.outputs)
      if (auto it = rename.find(o.name); it != rename.end()) o.name = it->second;
    g.nodes = std::move(kept);
  }
}

// Drops the nodes `removed`, appends `added` and restores topological order.
void replace_nodes(Graph& g, const std::set<int>& removed, std::vector<Node> added) {
  std::vector<Node> kept;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i)
    if (!removed.count(i)) kept.push_back(std::move(g.nodes[i]));
  for (auto& n : added) kept.push_back(std::move(n));
  g.nodes = std::move(kept);
  g.topo_sort();
}

// The integer op of a selected weighted unit (adds the initializers it needs: a zero weight zero point
// when the DequantizeLinear has none, Gemm's transposed B).
Node integer_unit(Graph& g, const qdq::QdqWeightedUnit& u) {
  const Node& n = g.nodes[u.node];
  const Tensor& wq = *g.initializer(u.w.q);
  Node f;
  f.name = n.name;
  if (u.q >= 0) {
    f.outputs = {g.nodes[u.q].outputs[0]};
  } else if (u.activation >= 0) {  // float output with its activation as a float clamp
    const Node& act = g.nodes[u.activation];
    const auto [lo, hi] = *activation_bounds(g, act);
    f.attrs[kActMin] = Attribute::of_float(lo);
    f.attrs[kActMax] = Attribute::of_float(hi);
    f.outputs = {act.outputs[0]};
  } else {
    f.outputs = {n.outputs[0]};
  }
  std::string weight = u.w.q, wzp = u.w.zero_point;
  if (wzp.empty()) {
    wzp = g.unique_name(u.w.q + "_zero_point");
    g.initializers[wzp] = Tensor::zeros(wq.dtype(), {});
  }
  if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
    f.op_type = n.op_type == "Conv" ? "QLinearConv" : "QLinearConvTranspose";
    for (const auto& [k, a] : n.attrs) f.attrs[k] = a;
  } else {
    // QLinearMatMul wants B as [K, N] with per-column parameters: Gemm's transB = 1 weight is transposed.
    if (u.weight_axis == 0) {
      Tensor t = Tensor::empty(wq.dtype(), {wq.dim(1), wq.dim(0)});
      const auto* src = static_cast<const uint8_t*>(wq.raw());
      auto* dst = static_cast<uint8_t*>(t.raw());
      for (int64_t r = 0; r < wq.dim(0); ++r)
        for (int64_t c = 0; c < wq.dim(1); ++c) dst[c * wq.dim(0) + r] = src[r * wq.dim(1) + c];
      weight = g.unique_name(u.w.q + "_kn");
      g.initializers[weight] = t;
    }
    f.op_type = "QLinearMatMul";
  }
  f.inputs = {u.x.q, u.x.scale, u.x.zero_point, weight, u.w.scale, wzp};
  if (u.q >= 0) {
    f.inputs.push_back(g.nodes[u.q].inputs[1]);
    f.inputs.push_back(g.nodes[u.q].inputs[2]);
  } else {
    f.inputs.insert(f.inputs.end(), {"", ""});  // no y_scale / y_zero_point: float output
  }
  if (u.b) f.inputs.push_back(u.b->q);
  return f;
}

// Pass: every weighted unit → QLinearConv / QLinearMatMul. Returns whether one was fused.
bool fuse_weighted_units(Graph& g) {
  std::set<int> removed;
  std::vector<Node> fused;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    std::string why;
    auto u = qdq::select_qdq_weighted_unit(g, i, &why);
    if (!u) continue;
    fused.push_back(integer_unit(g, *u));
    removed.insert(i);
    if (u->q >= 0) removed.insert(u->q);
    if (u->q < 0 && u->activation >= 0) removed.insert(u->activation);
  }
  if (fused.empty()) return false;
  replace_nodes(g, removed, std::move(fused));
  return true;
}

// Pass: DequantizeLinear(a), DequantizeLinear(b) → Add → QuantizeLinear → QLinearAdd.
bool fuse_binary_adds(Graph& g) {
  std::set<int> removed;
  std::vector<Node> fused;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    std::string why;
    auto s = qdq::select_qdq_binary_add(g, i, &why);
    if (!s) continue;
    const Node& q = g.nodes[s->q];
    fused.push_back(Node{
        g.nodes[i].name,
        "QLinearAdd",
        "",
        {s->a.q, s->a.scale, s->a.zero_point, s->b.q, s->b.scale, s->b.zero_point, q.inputs[1], q.inputs[2]},
        {q.outputs[0]},
        {}});
    removed.insert(i);
    removed.insert(s->q);
  }
  if (fused.empty()) return false;
  replace_nodes(g, removed, std::move(fused));
  return true;
}

// Pass: QLinearConv / QLinearConvTranspose / QLinearMatMul → DequantizeLinear → Relu/Clip → QuantizeLinear
// (same parameters) is the integer op with its output clamped (the fused activation of the unit, in the
// output domain).
void fold_clamps(Graph& g) {
  std::set<int> removed;
  for (auto& f : g.nodes) {
    if ((f.op_type != "QLinearConv" && f.op_type != "QLinearConvTranspose" && f.op_type != "QLinearMatMul") ||
        f.inputs[6].empty())
      continue;
    auto c = qdq::select_qdq_clamp(g, f.outputs[0], f.inputs[6], f.inputs[7]);
    if (!c) continue;
    f.attrs[kActMin] = Attribute::of_float(c->lo);
    f.attrs[kActMax] = Attribute::of_float(c->hi);
    f.outputs[0] = g.nodes[c->q].outputs[0];
    removed.insert(c->dq);
    removed.insert(c->activation);
    removed.insert(c->q);
  }
  std::vector<Node> kept;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i)
    if (!removed.count(i)) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

// Pass: Shape only reads the shape: take it from the quantized tensor, so its DequantizeLinear can go.
void shape_reads_quantized(Graph& g) {
  for (auto& n : g.nodes) {
    if (n.op_type != "Shape" || !n.domain.empty()) continue;
    int p = g.producer(n.inputs[0]);
    if (p >= 0 && g.nodes[p].op_type == "DequantizeLinear") n.inputs[0] = g.nodes[p].inputs[0];
  }
}

// Pass: nodes nobody reads any more (the weight and bias DequantizeLinear nodes of fused units).
void remove_unread_nodes(Graph& g) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      bool used = false;
      for (const auto& o : g.nodes[i].outputs) used |= !g.consumers(o).empty() || g.is_graph_output(o);
      if (!used) {
        g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(i));
        changed = true;
        break;
      }
    }
  }
}

}  // namespace

void fuse_qdq_for_runtime(Graph& g) {
  merge_duplicate_qdq(g);
  const bool units = fuse_weighted_units(g);
  const bool adds = fuse_binary_adds(g);
  if (!units && !adds) return;  // nothing runs in integers: the graph stays as it is
  fold_clamps(g);
  shape_reads_quantized(g);
  remove_unread_nodes(g);
  g.topo_sort();
}

}  // namespace tinyqat
