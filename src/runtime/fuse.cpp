#include "runtime/fuse.h"

#include "ir/fold_batchnorm.h"
#include "runtime/kernels/conv_cl_rows_f32.h"
#include "runtime/kernels/conv_dw_cl_f32.h"

#include <cmath>
#include <limits>
#include <optional>
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

// The rank of a value when the graph knows it (graph input, initializer or inferred value_info).
std::optional<size_t> known_rank(const Graph& g, const std::string& v) {
  if (const Tensor* t = g.initializer(v)) return t->shape().size();
  for (const auto& in : g.inputs)
    if (in.name == v && in.has_shape) return in.shape.size();
  auto it = g.value_info.find(v);
  if (it != g.value_info.end() && it->second.has_shape) return it->second.shape.size();
  return std::nullopt;
}

// `c` is a constant float scalar equal to `want` that does not change the shape of an element-wise op
// with `x` by broadcasting (rank 0, or no higher than x's known rank), so the fused node keeps x's shape.
bool is_scalar(const Graph& g, const std::string& c, float want, const std::string& x) {
  size_t rank = 0;
  const std::optional<float> v = scalar_constant(g, c, &rank);
  if (!v || std::fabs(*v - want) > 1e-6f * std::fabs(want)) return false;
  if (rank == 0) return true;
  const std::optional<size_t> xr = known_rank(g, x);
  return xr && rank <= *xr;
}

// The one consumer of `value` (not a graph output, not already fused away), or -1.
int sole_consumer(const Graph& g, const std::string& value, const std::set<int>& removed) {
  if (g.is_graph_output(value)) return -1;
  auto users = g.consumers(value);
  return users.size() == 1 && !removed.count(users[0]) ? users[0] : -1;
}

// For a plain binary node, the input that is not `value` (nullopt when the node is not `op`, or both
// inputs are `value`).
std::optional<std::string> other_input(const Node& n, const char* op, const std::string& value) {
  if (n.op_type != op || !n.domain.empty() || n.inputs.size() != 2 || n.inputs[0] == n.inputs[1])
    return std::nullopt;
  if (n.inputs[0] == value) return n.inputs[1];
  if (n.inputs[1] == value) return n.inputs[0];
  return std::nullopt;
}

// GELU in its erf form, as exporters write it: x/√2 (Div by √2 or Mul by 1/√2) → Erf → Add 1, then
// x · that · 0.5 in either grouping ((x · a) · 0.5 or (x · 0.5) · a). Five element-wise passes become
// one Gelu node (kGelu), so the tensor is read and written once.
void fuse_gelu(Graph& g, std::set<int>& removed) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& erf = g.nodes[i];
    if (erf.op_type != "Erf" || !erf.domain.empty() || erf.inputs.size() != 1 || removed.count(int(i)))
      continue;
    const int di = g.producer(erf.inputs[0]);
    if (di < 0 || removed.count(di) || sole_consumer(g, erf.inputs[0], removed) != int(i)) continue;
    const Node& scale = g.nodes[di];
    std::string x;
    if (scale.op_type == "Div" && scale.domain.empty() && scale.inputs.size() == 2 &&
        is_scalar(g, scale.inputs[1], 1.41421356f, scale.inputs[0])) {
      x = scale.inputs[0];
    } else if (auto c0 = other_input(scale, "Mul", scale.inputs.empty() ? "" : scale.inputs[0]);
               c0 && is_scalar(g, *c0, 0.70710678f, scale.inputs[0])) {
      x = scale.inputs[0];
    } else if (auto c1 = other_input(scale, "Mul", scale.inputs.size() < 2 ? "" : scale.inputs[1]);
               c1 && is_scalar(g, *c1, 0.70710678f, scale.inputs[1])) {
      x = scale.inputs[1];
    } else {
      continue;
    }
    const int ai = sole_consumer(g, erf.outputs[0], removed);
    if (ai < 0) continue;
    auto one = other_input(g.nodes[ai], "Add", erf.outputs[0]);
    if (!one || !is_scalar(g, *one, 1.f, x)) continue;
    const int mi = sole_consumer(g, g.nodes[ai].outputs[0], removed);
    if (mi < 0) continue;
    auto m_other = other_input(g.nodes[mi], "Mul", g.nodes[ai].outputs[0]);
    if (!m_other) continue;
    int half = -1;  // the node that multiplies by 0.5
    std::string out;
    if (*m_other == x) {  // (x · a) · 0.5
      half = sole_consumer(g, g.nodes[mi].outputs[0], removed);
      if (half < 0) continue;
      auto c = other_input(g.nodes[half], "Mul", g.nodes[mi].outputs[0]);
      if (!c || !is_scalar(g, *c, 0.5f, x)) continue;
      out = g.nodes[half].outputs[0];
    } else {  // (x · 0.5) · a
      half = g.producer(*m_other);
      if (half < 0 || removed.count(half) || sole_consumer(g, *m_other, removed) != mi) continue;
      auto c = other_input(g.nodes[half], "Mul", x);
      if (!c || !is_scalar(g, *c, 0.5f, x)) continue;
      out = g.nodes[mi].outputs[0];
    }
    Node& fused = g.nodes[i];  // the Erf node becomes the Gelu
    fused.op_type = kGelu;
    fused.inputs = {x};
    fused.outputs = {out};
    for (int r : {di, ai, mi, half}) removed.insert(r);
  }
}

// How a Conv may take part in a chain of channels-last images: a conv of one group that the
// channels-last-rows kernel takes whatever the input's size reads and writes either layout (its input,
// residual and output may each be channels-last); a depthwise conv the channels-last depthwise kernel
// takes only runs with channels-last input and output, and no fused residual.
enum class ClRole { kNone, kRows, kDepthwise };
ClRole cl_role(const Graph& g, const Node& n) {
  if (n.op_type != "Conv" || !n.domain.empty() || n.inputs.size() < 2) return ClRole::kNone;
  const Tensor* w = g.initializer(n.inputs[1]);
  if (!w) return ClRole::kNone;
  if (n.get_int("group", 1) == 1 && channels_last_rows_conv(n, *w)) return ClRole::kRows;
  if (depthwise_channels_last_conv(n, *w) && n.get_int(kFusedAdd, 0) == 0) return ClRole::kDepthwise;
  return ClRole::kNone;
}

// Tensors that only such convs produce and read (as input or a rows conv's fused residual; never a
// graph output) stay channels-last between them: the producer skips its transposes back to planes and
// each reader its transposes into rows (learned_filter: every tensor between its 16→16 convs;
// nr_metric: every tensor from the stem to the last pointwise conv). A depthwise conv whose input or
// output would stay planes takes neither (its planes kernel runs), which may in turn end its
// neighbours' chains: repeated until nothing changes.
void mark_channels_last(Graph& g) {
  std::vector<ClRole> role(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) role[i] = cl_role(g, g.nodes[i]);
  std::set<std::string> cl;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (role[i] == ClRole::kNone || n.outputs.empty() || g.is_graph_output(n.outputs[0])) continue;
    const auto users = g.consumers(n.outputs[0]);
    bool ok = !users.empty();
    for (int u : users) {
      const Node& c = g.nodes[u];
      ok = ok && role[u] != ClRole::kNone;
      for (size_t k = 0; ok && k < c.inputs.size(); ++k)
        if (c.inputs[k] == n.outputs[0])
          ok = k == 0 || (k == 3 && role[u] == ClRole::kRows && c.get_int(kFusedAdd, 0) != 0);
    }
    if (ok) cl.insert(n.outputs[0]);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (role[i] != ClRole::kDepthwise || (cl.count(n.inputs[0]) && cl.count(n.outputs[0]))) continue;
      changed = cl.erase(n.inputs[0]) + cl.erase(n.outputs[0]) > 0 || changed;
    }
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (role[i] == ClRole::kNone) continue;
    const bool in = cl.count(n.inputs[0]) > 0, out = cl.count(n.outputs[0]) > 0,
               res = n.inputs.size() > 3 && n.get_int(kFusedAdd, 0) != 0 && cl.count(n.inputs[3]) > 0;
    if (in) n.attrs[kClIn] = Attribute::of_int(1);
    if (res) n.attrs[kClRes] = Attribute::of_int(1);
    if (out) n.attrs[kClOut] = Attribute::of_int(1);
  }
}

}  // namespace

bool depthwise_channels_last_conv(const Node& n, const Tensor& w) {
  const int64_t group = n.get_int("group", 1);
  if (!conv_dw_cl_f32() || w.dtype() != DType::F32 || w.rank() != 4) return false;
  const auto strides = n.get_ints("strides", {1, 1}), dil = n.get_ints("dilations", {1, 1});
  return strides.size() == 2 && dil.size() == 2 &&
         conv_dw_cl_takes(group, w.dim(0), w.dim(1), w.dim(2), w.dim(3), strides[0], strides[1], dil[0],
                          dil[1]);
}

bool channels_last_rows_conv(const Node& n, const Tensor& w, bool between_planes) {
  const int64_t group = n.get_int("group", 1);
  if (!conv_cl_f32() || w.dtype() != DType::F32 || w.rank() != 4 || group < 1 || w.dim(0) % group != 0)
    return false;
  const auto strides = n.get_ints("strides", {1, 1}), dil = n.get_ints("dilations", {1, 1});
  if (strides.size() != 2 || dil.size() != 2) return false;
  const auto takes = between_planes ? conv_cl_takes_planes : conv_cl_takes;
  return takes(w.dim(0) / group, w.dim(1), w.dim(2), w.dim(3), strides[1], dil[0], dil[1]);
}

void fuse_for_runtime(Graph& g) {
  fold_batchnorm(g);  // first: a Conv + BatchNormalization + Clip then fuses whole
  std::set<int> removed;
  fuse_gelu(g, removed);
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
  if (!removed.empty()) {
    std::vector<Node> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (!removed.count(static_cast<int>(i))) kept.push_back(std::move(g.nodes[i]));
    g.nodes = std::move(kept);
    g.topo_sort();  // a fused residual may be produced after the conv's old position
  }
  if (conv_cl_f32()) mark_channels_last(g);
}

}  // namespace tinyqat
