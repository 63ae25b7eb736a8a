// infer_shapes: runs each node's shape rule (shape_rules_<family>.cpp) in topological order, and the
// helpers the rules share.
#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "ir/graph.h"
#include "ir/op_math.h"
#include "ir/shape_rules.h"

namespace tinyqat {
namespace shape_rules {

const ValueInfo& Ctx::in(const Node& n, size_t i) {
  TQ_CHECK(i < n.inputs.size() && !n.inputs[i].empty(), "{} lacks required input {}", n.describe(), i);
  auto it = vals.find(n.inputs[i]);
  TQ_CHECK(it != vals.end(), "{}: input '{}' is unknown", n.describe(), n.inputs[i]);
  return it->second;
}

const Tensor* Ctx::constant(const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
  auto it = consts.find(n.inputs[i]);
  return it == consts.end() ? nullptr : &it->second;
}

const Rules& all() {
  static const Rules r = [] {
    Rules m;
    register_elementwise(m);
    register_conv(m);
    register_matmul(m);
    register_pool(m);
    register_shape(m);
    register_quant(m);
    return m;
  }();
  return r;
}

Dims dims_of(const Shape& s) {
  Dims d;
  for (auto v : s) d.push_back(Dim::known(v));
  return d;
}

ValueInfo make(DType t, Dims d) {
  ValueInfo v;
  v.dtype = t;
  v.has_shape = true;
  v.shape = std::move(d);
  return v;
}

ValueInfo unknown_shape(DType t) {
  ValueInfo v;
  v.dtype = t;
  return v;
}

namespace {
Dim bcast_dim(const Dim& a, const Dim& b) {
  if (a.is_known() && a.value == 1) return b;
  if (b.is_known() && b.value == 1) return a;
  if (a.is_known()) return a;
  if (b.is_known()) return b;
  return a.param == b.param ? a : Dim{};
}
}  // namespace

ValueInfo broadcast(DType t, const ValueInfo& a, const ValueInfo& b, const Node& n) {
  if (!a.has_shape || !b.has_shape) return unknown_shape(t);
  size_t r = std::max(a.shape.size(), b.shape.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    Dim da = i < r - a.shape.size() ? Dim::known(1) : a.shape[i - (r - a.shape.size())];
    Dim db = i < r - b.shape.size() ? Dim::known(1) : b.shape[i - (r - b.shape.size())];
    TQ_CHECK(!(da.is_known() && db.is_known() && da.value != db.value && da.value != 1 && db.value != 1),
             "{}: input shapes {} and {} do not broadcast", n.describe(), a.shape_str(), b.shape_str());
    out[i] = bcast_dim(da, db);
  }
  return make(t, out);
}

ValueInfo infer_window(const Node& n, const ValueInfo& x, const std::vector<int64_t>& kernel, Dim channels,
                       DType t) {
  if (!x.has_shape) return unknown_shape(t);
  TQ_CHECK(x.shape.size() == kernel.size() + 2, "{}: input rank {} does not match a {}-D kernel",
           n.describe(), x.shape.size(), kernel.size());
  WindowAttrs w = window_attrs(n, kernel);
  Dims out{x.shape[0], channels};
  std::vector<int64_t> in_sp;
  bool all_known = true;
  for (size_t i = 0; i < kernel.size(); ++i) {
    all_known &= x.shape[i + 2].is_known();
    in_sp.push_back(x.shape[i + 2].value);
  }
  if (!all_known) {
    // A symbolic size survives a window that preserves sizes (stride 1, explicit pads = span − 1).
    for (size_t i = 0; i < kernel.size(); ++i) {
      const int64_t span = (kernel[i] - 1) * w.dilations[i];
      bool same =
          w.auto_pad == "NOTSET" && w.strides[i] == 1 && w.pads[i] + w.pads[i + kernel.size()] == span;
      out.push_back(same || (w.strides[i] == 1 && w.auto_pad.rfind("SAME", 0) == 0) ? x.shape[i + 2] : Dim{});
    }
    return make(t, out);
  }
  auto pads = resolve_pads(w, in_sp);
  for (size_t i = 0; i < kernel.size(); ++i)
    out.push_back(Dim::known(window_out_dim(in_sp[i], kernel[i], w.strides[i], w.dilations[i], pads[i],
                                            pads[i + kernel.size()], w.ceil_mode)));
  return make(t, out);
}

std::vector<int64_t> weight_kernel(const Node& n, const ValueInfo& w) {
  TQ_CHECK(w.has_shape && w.shape.size() >= 3, "{}: weight shape must be known and of rank ≥ 3",
           n.describe());
  std::vector<int64_t> k;
  for (size_t i = 2; i < w.shape.size(); ++i) {
    TQ_CHECK(w.shape[i].is_known(), "{}: kernel size must be known", n.describe());
    k.push_back(w.shape[i].value);
  }
  return n.get_ints("kernel_shape", k);
}

ValueInfo infer_matmul(DType t, const ValueInfo& a, const ValueInfo& b, const Node& n) {
  if (!a.has_shape || !b.has_shape) return unknown_shape(t);
  TQ_CHECK(!a.shape.empty() && !b.shape.empty(), "{}: MatMul inputs must not be scalars", n.describe());
  Dims as = a.shape, bs = b.shape;
  bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), Dim::known(1));
  if (b1) bs.push_back(Dim::known(1));
  Dim k1 = as.back(), k2 = bs[bs.size() - 2];
  TQ_CHECK(!(k1.is_known() && k2.is_known() && k1.value != k2.value), "{}: inner dims {} and {} differ",
           n.describe(), a.shape_str(), b.shape_str());
  ValueInfo ba = make(t, Dims(as.begin(), as.end() - 2)), bb = make(t, Dims(bs.begin(), bs.end() - 2));
  ValueInfo r = broadcast(t, ba, bb, n);
  if (!a1) r.shape.push_back(as[as.size() - 2]);
  if (!b1) r.shape.push_back(bs.back());
  return r;
}

std::vector<int64_t> axes_of(Ctx& c, const Node& n, size_t input_index, bool* known) {
  *known = true;
  if (n.has("axes")) return n.get_ints("axes");
  if (input_index < n.inputs.size() && !n.inputs[input_index].empty()) {
    const Tensor* t = c.constant(n, input_index);
    if (!t) {
      *known = false;
      return {};
    }
    return t->to_i64();
  }
  return {};
}

}  // namespace shape_rules

// Turns a Constant node's attribute into a tensor (value, value_float(s), value_int(s)).
Tensor constant_node_value(const Node& n) {
  TQ_CHECK(!n.attrs.empty(), "{}: no value attribute", n.describe());
  const auto& [k, a] = *n.attrs.begin();
  if (k == "value") return a.t;
  if (k == "value_float") return Tensor::scalar_f32(a.f);
  if (k == "value_floats") return Tensor::from_f32({static_cast<int64_t>(a.floats.size())}, a.floats);
  if (k == "value_int") return Tensor::from_i64({}, {a.i});
  if (k == "value_ints") return Tensor::from_i64({static_cast<int64_t>(a.ints.size())}, a.ints);
  fail("{}: attribute '{}' is not supported", n.describe(), k);
}

void infer_shapes(Model& model) {
  using namespace shape_rules;
  Graph& g = model.graph;
  Ctx c{model, {}, {}};
  for (const auto& v : g.inputs) c.vals[v.name] = v;
  for (const auto& [name, t] : g.initializers) {
    c.vals[name] = make(t.dtype(), dims_of(t.shape()));
    c.vals[name].name = name;
    c.consts[name] = t;
  }
  for (const auto& n : g.nodes) {
    auto it = all().find(n.op_type);
    TQ_CHECK(n.domain.empty() && it != all().end(), "operator '{}' ({}) is not supported", n.op_type,
             n.describe());
    TQ_CHECK(!n.outputs.empty() && !n.outputs[0].empty(), "{} has no output", n.describe());
    if (n.op_type == "Constant") c.consts[n.outputs.at(0)] = constant_node_value(n);
    std::vector<ValueInfo> outs = it->second(c, n);
    for (size_t i = 0; i < n.outputs.size() && i < outs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      outs[i].name = n.outputs[i];
      c.vals[n.outputs[i]] = outs[i];
      g.value_info[n.outputs[i]] = outs[i];
    }
  }
  // Graph outputs keep their declared shapes where those are more specific.
  for (auto& o : g.outputs) {
    auto it = c.vals.find(o.name);
    if (it == c.vals.end()) continue;
    if (!o.has_shape) {
      o.has_shape = it->second.has_shape;
      o.shape = it->second.shape;
    }
    o.dtype = it->second.dtype;
  }
}

}  // namespace tinyqat
