// The selectors on a QDQ graph (what static PTQ and the QAT exporter write, and what ONNX Runtime's
// quantizer writes): what the runtime's integer fusion (runtime/fuse_qdq.cpp) reads. The unit is the one
// of unit.cpp; what is added here is only how its operands look once quantized.
#include <cmath>
#include <tuple>

#include "qdq/selectors.h"

namespace tinyqat::qdq {

std::optional<Dq> dequantized(const Graph& g, const std::string& v) {
  int p = g.producer(v);
  if (p < 0 || g.nodes[p].op_type != "DequantizeLinear" || !g.nodes[p].domain.empty()) return std::nullopt;
  const Node& n = g.nodes[p];
  Dq d;
  d.q = n.inputs[0];
  d.scale = n.inputs.size() > 1 ? n.inputs[1] : "";
  d.zero_point = n.input(2) ? *n.input(2) : "";
  d.axis = n.get_int("axis", 1);
  d.node = p;
  if (!g.initializer(d.scale) || (!d.zero_point.empty() && !g.initializer(d.zero_point))) return std::nullopt;
  return d;
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

namespace {

int only_reader(const Graph& g, const std::string& v) {
  if (g.is_graph_output(v)) return -1;
  auto users = g.consumers(v);
  return users.size() == 1 ? users[0] : -1;
}

// int32 bias whose scale is x_s·w_s[c] (so that it can be added to the accumulator as is).
bool integer_bias(const Graph& g, const Dq& b, const Tensor& xs, const Tensor& ws) {
  const Tensor* q = g.initializer(b.q);
  const Tensor* s = g.initializer(b.scale);
  if (!q || q->dtype() != DType::I32 || !s || s->dtype() != DType::F32) return false;
  if ((ws.numel() != 1 && ws.numel() != q->numel()) || (s->numel() != 1 && s->numel() != q->numel()))
    return false;
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

// A computed, per-tensor quantized activation with an explicit zero point.
std::optional<Dq> quantized_activation(const Graph& g, const std::string& v) {
  auto d = dequantized(g, v);
  if (!d || is_constant(g, d->q) || d->zero_point.empty() || !scalar_params(g, d->scale, d->zero_point))
    return std::nullopt;
  return d;
}

}  // namespace

int quantized_by(const Graph& g, const std::string& v) {
  const int u = only_reader(g, v);
  if (u < 0) return -1;
  const Node& q = g.nodes[u];
  if (q.op_type != "QuantizeLinear" || !q.domain.empty() || q.inputs.size() < 3 ||
      !scalar_params(g, q.inputs[1], q.inputs[2]))
    return -1;
  return u;
}

std::optional<QdqWeightedUnit> select_qdq_weighted_unit(const Graph& g, int i, std::string* why) {
  const Node& n = g.nodes[i];
  if (pattern_of(n).pattern != Pattern::WeightedUnit) return *why = "not a weighted op", std::nullopt;
  QdqWeightedUnit u;
  u.node = i;
  auto x = quantized_activation(g, n.inputs[0]);
  if (!x) return *why = "input is not a computed per-tensor DequantizeLinear", std::nullopt;
  u.x = *x;
  auto w = n.input(1) ? dequantized(g, *n.input(1)) : std::nullopt;
  const Tensor* wq = w ? g.initializer(w->q) : nullptr;
  if (!wq || (wq->dtype() != DType::I8 && wq->dtype() != DType::U8))
    return *why = "weight is not a DequantizeLinear of an 8-bit initializer", std::nullopt;
  u.w = *w;
  u.q = quantized_by(g, n.outputs[0]);
  if (u.q < 0) return *why = "output is not read by one per-tensor QuantizeLinear", std::nullopt;
  const Tensor& xs = *g.initializer(u.x.scale);
  const Tensor& ws = *g.initializer(u.w.scale);
  if (n.input(2)) {
    u.b = dequantized(g, *n.input(2));
    if (!u.b || !integer_bias(g, *u.b, xs, ws))
      return *why = "bias is not an int32 DequantizeLinear at scale x_scale·w_scale", std::nullopt;
  }
  auto axis = weighted_op_axis(n, wq->shape(), u.b ? g.initializer(u.b->q)->numel() : -1, why);
  if (!axis) return std::nullopt;
  u.weight_axis = *axis;
  if (ws.numel() > 1 && u.w.axis != u.weight_axis)
    return *why = "weight scales are not along the output-channel axis", std::nullopt;
  return u;
}

std::optional<QdqBinaryAdd> select_qdq_binary_add(const Graph& g, int i, std::string* why) {
  const Node& n = g.nodes[i];
  if (pattern_of(n).pattern != Pattern::BinaryAdd || n.inputs.size() != 2)
    return *why = "not a binary Add", std::nullopt;
  QdqBinaryAdd s;
  s.node = i;
  auto a = quantized_activation(g, n.inputs[0]), b = quantized_activation(g, n.inputs[1]);
  if (!a || !b) return *why = "an input is not a computed per-tensor DequantizeLinear", std::nullopt;
  s.a = *a, s.b = *b;
  auto ia = g.value_info.find(a->q), ib = g.value_info.find(b->q);
  if (ia == g.value_info.end() || ib == g.value_info.end() || !ia->second.has_shape ||
      ia->second.shape != ib->second.shape)
    return *why = "inputs differ in shape (no broadcasting)", std::nullopt;
  for (const auto& d : ia->second.shape)
    if (!d.is_known() && d.param.empty()) return *why = "input shape unknown", std::nullopt;
  s.q = quantized_by(g, n.outputs[0]);
  if (s.q < 0) return *why = "output is not read by one per-tensor QuantizeLinear", std::nullopt;
  const DType za = g.initializer(a->zero_point)->dtype(), zb = g.initializer(b->zero_point)->dtype(),
              zy = g.initializer(g.nodes[s.q].inputs[2])->dtype();
  if (za != zb || za != zy) return *why = "inputs and output differ in 8-bit type", std::nullopt;
  return s;
}

std::optional<QdqClamp> select_qdq_clamp(const Graph& g, const std::string& v, const std::string& scale,
                                         const std::string& zero_point) {
  QdqClamp c;
  c.dq = only_reader(g, v);
  if (c.dq < 0) return std::nullopt;
  const Node& dq = g.nodes[c.dq];
  if (dq.op_type != "DequantizeLinear" || !dq.domain.empty() || dq.inputs.size() < 3) return std::nullopt;
  c.activation = fused_activation(g, dq.outputs[0]);
  if (c.activation < 0) return std::nullopt;
  const Node& act = g.nodes[c.activation];
  std::tie(c.lo, c.hi) = *activation_bounds(g, act);
  c.q = quantized_by(g, act.outputs[0]);
  if (c.q < 0) return std::nullopt;
  const Node& q = g.nodes[c.q];
  if (!same_params(g, dq.inputs[1], dq.inputs[2], q.inputs[1], q.inputs[2]) ||
      !same_params(g, scale, zero_point, q.inputs[1], q.inputs[2]))
    return std::nullopt;
  return c;
}

}  // namespace tinyqat::qdq
