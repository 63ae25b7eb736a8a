// QDQ → integer operators, done once when an Executor is built: DequantizeLinear(x_q) → Conv / Gemm /
// MatMul (with DequantizeLinear'd constant int8 weights and an int32 bias at scale x_s·w_s) →
// QuantizeLinear becomes one QLinearConv / QLinearMatMul, so the runtime executes exact int32 sums
// instead of simulating in float. A following DequantizeLinear → Relu/Clip → QuantizeLinear with the
// same parameters becomes a clamp inside the integer op.
#include <cmath>
#include <map>
#include <set>

#include "runtime/fuse.h"

namespace tinyqat {
namespace {

struct DqInfo {
  std::string q, scale, zero_point;  // the DequantizeLinear's inputs ("" zero point when omitted)
  int64_t axis = 1;
  int node = -1;
};

bool dequantized(const Graph& g, const std::string& v, DqInfo* d) {
  int p = g.producer(v);
  if (p < 0 || g.nodes[p].op_type != "DequantizeLinear" || !g.nodes[p].domain.empty()) return false;
  const Node& n = g.nodes[p];
  d->q = n.inputs[0];
  d->scale = n.inputs.size() > 1 ? n.inputs[1] : "";
  d->zero_point = n.input(2) ? *n.input(2) : "";
  d->axis = n.get_int("axis", 1);
  d->node = p;
  return g.initializer(d->scale) != nullptr && (d->zero_point.empty() || g.initializer(d->zero_point));
}

bool scalar_params(const Graph& g, const std::string& scale, const std::string& zp) {
  const Tensor* s = g.initializer(scale);
  const Tensor* z = zp.empty() ? nullptr : g.initializer(zp);
  return s && s->numel() == 1 && s->dtype() == DType::F32 && (!z || z->numel() == 1);
}

bool same_params(const Graph& g, const std::string& s1, const std::string& z1, const std::string& s2,
                 const std::string& z2) {
  if (!scalar_params(g, s1, z1) || !scalar_params(g, s2, z2)) return false;
  const Tensor *a = g.initializer(z1), *b = g.initializer(z2);
  if (!a || !b || a->dtype() != b->dtype()) return false;
  return g.initializer(s1)->data<float>()[0] == g.initializer(s2)->data<float>()[0] &&
         a->scalar_as_double() == b->scalar_as_double();
}

bool only_consumer(const Graph& g, const std::string& v, int* user) {
  if (g.is_graph_output(v)) return false;
  auto users = g.consumers(v);
  if (users.size() != 1) return false;
  *user = users[0];
  return true;
}

// int32 bias whose scale is x_s·w_s[c] (so that it can be added to the accumulator as is).
bool integer_bias(const Graph& g, const DqInfo& b, const Tensor& xs, const Tensor& ws) {
  const Tensor* q = g.initializer(b.q);
  const Tensor* s = g.initializer(b.scale);
  if (!q || q->dtype() != DType::I32 || !s || s->dtype() != DType::F32) return false;
  if (!b.zero_point.empty()) {
    const Tensor* z = g.initializer(b.zero_point);
    for (int64_t i = 0; i < z->numel(); ++i)
      if (z->scalar_as_double(i) != 0) return false;
  }
  for (int64_t c = 0; c < q->numel(); ++c) {
    const double want = double(xs.data<float>()[0]) * ws.data<float>()[ws.numel() == 1 ? 0 : c];
    const double got = s->data<float>()[s->numel() == 1 ? 0 : c];
    if (std::fabs(got - want) > 1e-6 * std::fabs(want)) return false;
  }
  return true;
}

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

}  // namespace

void fuse_qdq_for_runtime(Graph& g) {
  merge_duplicate_qdq(g);
  std::set<int> removed;
  std::vector<Node> fused;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    const Node& n = g.nodes[i];
    const bool conv = n.op_type == "Conv", gemm = n.op_type == "Gemm", matmul = n.op_type == "MatMul";
    if (!(conv || gemm || matmul) || !n.domain.empty()) continue;
    if (gemm &&
        (n.get_int("transA", 0) || n.get_float("alpha", 1.f) != 1.f || n.get_float("beta", 1.f) != 1.f))
      continue;
    DqInfo x, w, b;
    if (!dequantized(g, n.inputs[0], &x) || g.initializer(x.q) || !scalar_params(g, x.scale, x.zero_point))
      continue;
    if (!dequantized(g, n.inputs[1], &w)) continue;
    const Tensor* wq = g.initializer(w.q);
    if (!wq || (wq->dtype() != DType::I8 && wq->dtype() != DType::U8) || x.zero_point.empty()) continue;
    const Tensor& ws = *g.initializer(w.scale);
    int quser;
    if (!only_consumer(g, n.outputs[0], &quser)) continue;
    const Node& qn = g.nodes[quser];
    if (qn.op_type != "QuantizeLinear" || qn.inputs.size() < 3 ||
        !scalar_params(g, qn.inputs[1], qn.inputs[2]))
      continue;
    const bool has_bias = n.input(2).has_value();
    if (has_bias && (!dequantized(g, n.inputs[2], &b) || !integer_bias(g, b, *g.initializer(x.scale), ws)))
      continue;
    Node f;
    f.name = n.name;
    f.outputs = {qn.outputs[0]};
    std::string weight = w.q, wzp = w.zero_point;
    if (wzp.empty()) {
      wzp = g.unique_name(w.q + "_zero_point");
      g.initializers[wzp] = Tensor::zeros(wq->dtype(), {});
    }
    if (conv) {
      if (ws.numel() > 1 && w.axis != 0) continue;
      f.op_type = "QLinearConv";
      for (const auto& [k, a] : n.attrs) f.attrs[k] = a;
    } else {
      // QLinearMatMul wants B as [K, N] with per-column parameters.
      const bool trans_b = gemm && n.get_int("transB", 0);
      if (wq->rank() != 2 || (ws.numel() > 1 && w.axis != (trans_b ? 0 : 1))) continue;
      if (trans_b) {
        Tensor t = Tensor::empty(wq->dtype(), {wq->dim(1), wq->dim(0)});
        const auto* src = static_cast<const uint8_t*>(wq->raw());
        auto* dst = static_cast<uint8_t*>(t.raw());
        for (int64_t r = 0; r < wq->dim(0); ++r)
          for (int64_t c = 0; c < wq->dim(1); ++c) dst[c * wq->dim(0) + r] = src[r * wq->dim(1) + c];
        weight = g.unique_name(w.q + "_kn");
        g.initializers[weight] = t;
      }
      f.op_type = "QLinearMatMul";
    }
    f.inputs = {x.q, x.scale, x.zero_point, weight, w.scale, wzp, qn.inputs[1], qn.inputs[2]};
    if (has_bias) f.inputs.push_back(b.q);
    removed.insert(i);
    removed.insert(quser);
    fused.push_back(std::move(f));
  }
  // DequantizeLinear(a), DequantizeLinear(b) → Add → QuantizeLinear: QLinearAdd (same shapes only).
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type != "Add" || !n.domain.empty() || n.inputs.size() != 2) continue;
    DqInfo a, b;
    if (!dequantized(g, n.inputs[0], &a) || !dequantized(g, n.inputs[1], &b) || g.initializer(a.q) ||
        g.initializer(b.q) || a.zero_point.empty() || b.zero_point.empty() ||
        !scalar_params(g, a.scale, a.zero_point) || !scalar_params(g, b.scale, b.zero_point))
      continue;
    auto ia = g.value_info.find(a.q), ib = g.value_info.find(b.q);
    if (ia == g.value_info.end() || ib == g.value_info.end() || !ia->second.has_shape ||
        ia->second.shape != ib->second.shape)
      continue;
    bool known = true;
    for (const auto& d : ia->second.shape) known &= d.is_known() || !d.param.empty();
    int quser;
    if (!known || !only_consumer(g, n.outputs[0], &quser)) continue;
    const Node& qn = g.nodes[quser];
    if (qn.op_type != "QuantizeLinear" || qn.inputs.size() < 3 ||
        !scalar_params(g, qn.inputs[1], qn.inputs[2]))
      continue;
    const Tensor *za = g.initializer(a.zero_point), *zb = g.initializer(b.zero_point),
                 *zy = g.initializer(qn.inputs[2]);
    if (za->dtype() != zb->dtype() || za->dtype() != zy->dtype()) continue;
    fused.push_back(Node{n.name,
                         "QLinearAdd",
                         "",
                         {a.q, a.scale, a.zero_point, b.q, b.scale, b.zero_point, qn.inputs[1], qn.inputs[2]},
                         {qn.outputs[0]},
                         {}});
    removed.insert(i);
    removed.insert(quser);
  }
  if (fused.empty()) return;
  std::vector<Node> kept;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i)
    if (!removed.count(i)) kept.push_back(g.nodes[i]);
  for (auto& f : fused) kept.push_back(std::move(f));
  g.nodes = std::move(kept);
  g.topo_sort();

  // A clamp in the integer domain: QLinear* → DequantizeLinear → Relu/Clip → QuantizeLinear (same
  // parameters) is the integer op with its output clamped.
  removed.clear();
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    Node& f = g.nodes[i];
    if (f.op_type != "QLinearConv" && f.op_type != "QLinearMatMul") continue;
    int d, a, q;
    if (!only_consumer(g, f.outputs[0], &d) || g.nodes[d].op_type != "DequantizeLinear") continue;
    const Node& dq = g.nodes[d];
    if (!only_consumer(g, dq.outputs[0], &a)) continue;
    const Node& act = g.nodes[a];
    auto bounds = activation_bounds(g, act);
    if (!bounds) continue;
    const auto [lo, hi] = *bounds;
    if (!only_consumer(g, act.outputs[0], &q) || g.nodes[q].op_type != "QuantizeLinear") continue;
    const Node& qn = g.nodes[q];
    if (dq.inputs.size() < 3 || qn.inputs.size() < 3 ||
        !same_params(g, dq.inputs[1], dq.inputs[2], qn.inputs[1], qn.inputs[2]) ||
        !same_params(g, f.inputs[6], f.inputs[7], qn.inputs[1], qn.inputs[2]))
      continue;
    f.attrs[kActMin] = Attribute::of_float(lo);
    f.attrs[kActMax] = Attribute::of_float(hi);
    f.outputs[0] = qn.outputs[0];
    removed.insert(d);
    removed.insert(a);
    removed.insert(q);
  }
  std::vector<Node> kept2;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i)
    if (!removed.count(i)) kept2.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept2);
  // Shape only reads the shape: take it from the quantized tensor, so its DequantizeLinear can go.
  for (auto& n : g.nodes) {
    if (n.op_type != "Shape" || !n.domain.empty()) continue;
    int p = g.producer(n.inputs[0]);
    if (p >= 0 && g.nodes[p].op_type == "DequantizeLinear") n.inputs[0] = g.nodes[p].inputs[0];
  }
  // Weight and bias DequantizeLinear nodes nobody reads any more.
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
  g.topo_sort();
}

}  // namespace tinyqat
