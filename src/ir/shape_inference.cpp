// Type and shape inference over the IR. Symbolic dims (a dynamic batch) flow through; arithmetic on
// unknown dims yields unknown dims. The shape arithmetic itself lives in op_math.h, shared with the runtime.
#include <functional>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "ir/graph.h"
#include "ir/op_math.h"

namespace tinyqat {
namespace {

using Dims = std::vector<Dim>;

struct Ctx {
  Model& model;
  std::unordered_map<std::string, ValueInfo> vals;
  std::unordered_map<std::string, Tensor> consts;  // initializers and Constant outputs

  const ValueInfo& in(const Node& n, size_t i) {
    TQ_CHECK(i < n.inputs.size() && !n.inputs[i].empty(), "{} lacks required input {}", n.describe(), i);
    auto it = vals.find(n.inputs[i]);
    TQ_CHECK(it != vals.end(), "{}: input '{}' is unknown", n.describe(), n.inputs[i]);
    return it->second;
  }
  const Tensor* constant(const Node& n, size_t i) {
    if (i >= n.inputs.size() || n.inputs[i].empty()) return nullptr;
    auto it = consts.find(n.inputs[i]);
    return it == consts.end() ? nullptr : &it->second;
  }
};

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

Dim bcast_dim(const Dim& a, const Dim& b) {
  if (a.is_known() && a.value == 1) return b;
  if (b.is_known() && b.value == 1) return a;
  if (a.is_known()) return a;
  if (b.is_known()) return b;
  return a.param == b.param ? a : Dim{};
}

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

DType zp_type(Ctx& c, const Node& n, size_t i, DType def) {
  if (i < n.inputs.size() && !n.inputs[i].empty()) return c.in(n, i).dtype;
  return def;
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

using InferFn = std::function<std::vector<ValueInfo>(Ctx&, const Node&)>;

const std::unordered_map<std::string, InferFn>& rules() {
  static const std::unordered_map<std::string, InferFn> r = [] {
    std::unordered_map<std::string, InferFn> m;
    auto same = [](Ctx& c, const Node& n) { return std::vector<ValueInfo>{c.in(n, 0)}; };
    for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Identity", "Clip",
                           "Softmax", "BatchNormalization"})
      m[op] = same;
    auto binary = [](Ctx& c, const Node& n) {
      const auto& a = c.in(n, 0);
      const auto& b = c.in(n, 1);
      TQ_CHECK(a.dtype == b.dtype, "{}: input types {} and {} differ", n.describe(), dtype_name(a.dtype),
               dtype_name(b.dtype));
      return std::vector<ValueInfo>{broadcast(a.dtype, a, b, n)};
    };
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) m[op] = binary;

    m["Conv"] = [](Ctx& c, const Node& n) {
      const auto& w = c.in(n, 1);
      return std::vector<ValueInfo>{infer_window(n, c.in(n, 0), weight_kernel(n, w), w.shape[0], DType::F32)};
    };
    m["ConvInteger"] = [](Ctx& c, const Node& n) {
      const auto& w = c.in(n, 1);
      return std::vector<ValueInfo>{infer_window(n, c.in(n, 0), weight_kernel(n, w), w.shape[0], DType::I32)};
    };
    m["QLinearConv"] = [](Ctx& c, const Node& n) {
      const auto& w = c.in(n, 3);
      DType t = c.in(n, 7).dtype;
      return std::vector<ValueInfo>{infer_window(n, c.in(n, 0), weight_kernel(n, w), w.shape[0], t)};
    };
    m["ConvTranspose"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      const auto& w = c.in(n, 1);
      auto k = weight_kernel(n, w);
      int64_t group = n.get_int("group", 1);
      Dim ch = w.shape[1].is_known() ? Dim::known(w.shape[1].value * group) : Dim{};
      if (!x.has_shape) return std::vector<ValueInfo>{unknown_shape(DType::F32)};
      Dims out{x.shape[0], ch};
      WindowAttrs wa = window_attrs(n, k);
      auto out_pad = n.get_ints("output_padding", std::vector<int64_t>(k.size(), 0));
      auto out_shape = n.get_ints("output_shape");
      for (size_t i = 0; i < k.size(); ++i) {
        if (!out_shape.empty()) {
          out.push_back(Dim::known(out_shape[out_shape.size() - k.size() + i]));
        } else if (x.shape[i + 2].is_known()) {
          int64_t in = x.shape[i + 2].value;
          int64_t full = wa.strides[i] * (in - 1) + out_pad[i] + (k[i] - 1) * wa.dilations[i] + 1;
          if (wa.auto_pad == "SAME_UPPER" || wa.auto_pad == "SAME_LOWER")
            out.push_back(Dim::known(in * wa.strides[i]));
          else
            out.push_back(Dim::known(full - wa.pads[i] - wa.pads[i + k.size()]));
        } else {
          out.push_back(Dim{});
        }
      }
      return std::vector<ValueInfo>{make(DType::F32, out)};
    };
    m["Gemm"] = [](Ctx& c, const Node& n) {
      const auto& a = c.in(n, 0);
      const auto& b = c.in(n, 1);
      if (!a.has_shape || !b.has_shape) return std::vector<ValueInfo>{unknown_shape(DType::F32)};
      TQ_CHECK(a.shape.size() == 2 && b.shape.size() == 2, "{}: Gemm inputs must be 2-D (got {} and {})",
               n.describe(), a.shape_str(), b.shape_str());
      Dim M = n.get_int("transA", 0) ? a.shape[1] : a.shape[0];
      Dim N = n.get_int("transB", 0) ? b.shape[0] : b.shape[1];
      return std::vector<ValueInfo>{make(DType::F32, {M, N})};
    };
    m["MatMul"] = [](Ctx& c, const Node& n) {
      return std::vector<ValueInfo>{infer_matmul(DType::F32, c.in(n, 0), c.in(n, 1), n)};
    };
    m["MatMulInteger"] = [](Ctx& c, const Node& n) {
      return std::vector<ValueInfo>{infer_matmul(DType::I32, c.in(n, 0), c.in(n, 1), n)};
    };
    m["QLinearMatMul"] = [](Ctx& c, const Node& n) {
      return std::vector<ValueInfo>{infer_matmul(c.in(n, 7).dtype, c.in(n, 0), c.in(n, 3), n)};
    };
    auto pool = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      auto k = n.get_ints("kernel_shape");
      TQ_CHECK(!k.empty(), "{}: kernel_shape is required", n.describe());
      TQ_CHECK(n.outputs.size() == 1, "{}: the Indices output is not supported", n.describe());
      return std::vector<ValueInfo>{infer_window(n, x, k, x.has_shape ? x.shape[1] : Dim{}, x.dtype)};
    };
    m["MaxPool"] = pool;
    m["AveragePool"] = pool;
    m["GlobalAveragePool"] = [](Ctx& c, const Node& n) {
      ValueInfo x = c.in(n, 0);
      if (x.has_shape)
        for (size_t i = 2; i < x.shape.size(); ++i) x.shape[i] = Dim::known(1);
      return std::vector<ValueInfo>{x};
    };
    m["ReduceMean"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      bool known;
      auto axes = axes_of(c, n, 1, &known);
      bool keep = n.get_int("keepdims", 1) != 0;
      if (!x.has_shape || !known) return std::vector<ValueInfo>{unknown_shape(x.dtype)};
      int64_t r = static_cast<int64_t>(x.shape.size());
      std::vector<bool> red(r, axes.empty() && n.get_int("noop_with_empty_axes", 0) == 0);
      for (auto a : axes) red[normalize_axis(a, r, n.describe())] = true;
      Dims out;
      for (int64_t i = 0; i < r; ++i) {
        if (!red[i])
          out.push_back(x.shape[i]);
        else if (keep)
          out.push_back(Dim::known(1));
      }
      return std::vector<ValueInfo>{make(x.dtype, out)};
    };
    m["Flatten"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      if (!x.has_shape) return std::vector<ValueInfo>{unknown_shape(x.dtype)};
      int64_t r = static_cast<int64_t>(x.shape.size());
      int64_t axis = n.get_int("axis", 1);
      TQ_CHECK(axis >= -r && axis <= r, "{}: axis {} out of range", n.describe(), axis);
      if (axis < 0) axis += r;
      auto prod = [&](int64_t b, int64_t e) {
        int64_t p = 1;
        for (int64_t i = b; i < e; ++i) {
          if (!x.shape[i].is_known()) return Dim{};
          TQ_CHECK(!__builtin_mul_overflow(p, x.shape[i].value, &p), "{}: input shape is absurdly large",
                   n.describe());
        }
        return Dim::known(p);
      };
      return std::vector<ValueInfo>{make(x.dtype, {prod(0, axis), prod(axis, r)})};
    };
    m["Reshape"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      const Tensor* s = c.constant(n, 1);
      if (!s) {
        // Computed at run time: the rank is still the length of the shape vector when that is known.
        const ValueInfo& sv = c.in(n, 1);
        if (sv.has_shape && sv.shape.size() == 1 && sv.shape[0].is_known())
          return std::vector<ValueInfo>{make(x.dtype, Dims(sv.shape[0].value, Dim{}))};
        return std::vector<ValueInfo>{unknown_shape(x.dtype)};
      }
      auto req = s->to_i64();
      bool allowzero = n.get_int("allowzero", 0) != 0;
      Dims out;
      bool all_known = x.has_shape;
      if (x.has_shape)
        for (auto& d : x.shape) all_known &= d.is_known();
      if (all_known) {
        Shape in;
        for (auto& d : x.shape) in.push_back(d.value);
        return std::vector<ValueInfo>{
            make(x.dtype, dims_of(reshape_shape(in, req, allowzero, n.describe())))};
      }
      for (size_t i = 0; i < req.size(); ++i) {
        if (req[i] == 0 && !allowzero && x.has_shape && i < x.shape.size())
          out.push_back(x.shape[i]);
        else if (req[i] > 0)
          out.push_back(Dim::known(req[i]));
        else
          out.push_back(Dim{});
      }
      return std::vector<ValueInfo>{make(x.dtype, out)};
    };
    m["Squeeze"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      bool known;
      auto axes = axes_of(c, n, 1, &known);
      if (!x.has_shape || !known) return std::vector<ValueInfo>{unknown_shape(x.dtype)};
      int64_t r = static_cast<int64_t>(x.shape.size());
      std::vector<bool> drop(r, false);
      for (auto a : axes) drop[normalize_axis(a, r, n.describe())] = true;
      Dims out;
      for (int64_t i = 0; i < r; ++i) {
        bool d = axes.empty() ? (x.shape[i].is_known() && x.shape[i].value == 1) : drop[i];
        if (d && x.shape[i].is_known())
          TQ_CHECK(x.shape[i].value == 1, "{}: cannot squeeze axis {} of size {}", n.describe(), i,
                   x.shape[i].value);
        if (!d) out.push_back(x.shape[i]);
      }
      return std::vector<ValueInfo>{make(x.dtype, out)};
    };
    m["Unsqueeze"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      bool known;
      auto axes = axes_of(c, n, 1, &known);
      if (!x.has_shape || !known) return std::vector<ValueInfo>{unknown_shape(x.dtype)};
      int64_t r = static_cast<int64_t>(x.shape.size() + axes.size());
      std::vector<bool> ins(r, false);
      for (auto a : axes) ins[normalize_axis(a, r, n.describe())] = true;
      Dims out;
      size_t j = 0;
      for (int64_t i = 0; i < r; ++i) out.push_back(ins[i] ? Dim::known(1) : x.shape[j++]);
      return std::vector<ValueInfo>{make(x.dtype, out)};
    };
    m["Concat"] = [](Ctx& c, const Node& n) {
      const auto& x0 = c.in(n, 0);
      for (size_t i = 0; i < n.inputs.size(); ++i)
        if (!c.in(n, i).has_shape) return std::vector<ValueInfo>{unknown_shape(x0.dtype)};
      int64_t r = static_cast<int64_t>(x0.shape.size());
      int64_t axis = normalize_axis(n.get_int("axis", 0), r, n.describe());
      Dims out = x0.shape;
      for (size_t i = 1; i < n.inputs.size(); ++i) {
        const auto& xi = c.in(n, i);
        TQ_CHECK(static_cast<int64_t>(xi.shape.size()) == r, "{}: inputs differ in rank", n.describe());
        if (out[axis].is_known() && xi.shape[axis].is_known())
          out[axis].value += xi.shape[axis].value;
        else
          out[axis] = Dim{};
      }
      return std::vector<ValueInfo>{make(x0.dtype, out)};
    };
    m["Shape"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      if (!x.has_shape) return std::vector<ValueInfo>{make(DType::I64, {Dim{}})};
      int64_t r = static_cast<int64_t>(x.shape.size());
      int64_t s = n.get_int("start", 0), e = n.get_int("end", r);
      s = std::clamp<int64_t>(s < 0 ? s + r : s, 0, r);
      e = std::clamp<int64_t>(e < 0 ? e + r : e, 0, r);
      return std::vector<ValueInfo>{make(DType::I64, {Dim::known(std::max<int64_t>(0, e - s))})};
    };
    m["Gather"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      const auto& idx = c.in(n, 1);
      if (!x.has_shape || !idx.has_shape) return std::vector<ValueInfo>{unknown_shape(x.dtype)};
      int64_t axis = normalize_axis(n.get_int("axis", 0), static_cast<int64_t>(x.shape.size()), n.describe());
      Dims out(x.shape.begin(), x.shape.begin() + axis);
      out.insert(out.end(), idx.shape.begin(), idx.shape.end());
      out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
      return std::vector<ValueInfo>{make(x.dtype, out)};
    };
    m["Slice"] = [](Ctx& c, const Node& n) {
      const auto& x = c.in(n, 0);
      const Tensor *st = c.constant(n, 1), *en = c.constant(n, 2);
      const Tensor* ax = c.constant(n, 3);
      const Tensor* sp = c.constant(n, 4);
      bool dyn_axes = n.input(3) && !ax, dyn_steps = n.input(4) && !sp;
      if (!x.has_shape || !st || !en || dyn_axes || dyn_steps) {
        if (!x.has_shape) return std::vector<ValueInfo>{unknown_shape(x.dtype)};
        Dims out(x.shape.size(), Dim{});
        return std::vector<ValueInfo>{make(x.dtype, out)};
      }
      auto s = st->to_i64(), e = en->to_i64();
      int64_t r = static_cast<int64_t>(x.shape.size());
      std::vector<int64_t> axes(s.size());
      std::iota(axes.begin(), axes.end(), 0);
      if (ax) axes = ax->to_i64();
      std::vector<int64_t> steps(s.size(), 1);
      if (sp) steps = sp->to_i64();
      TQ_CHECK(e.size() == s.size() && axes.size() == s.size() && steps.size() == s.size(),
               "{}: starts/ends/axes/steps differ in length", n.describe());
      Dims out = x.shape;
      for (size_t i = 0; i < s.size(); ++i) {
        int64_t a = normalize_axis(axes[i], r, n.describe());
        if (!x.shape[a].is_known()) {
          out[a] = Dim{};
          continue;
        }
        out[a] = Dim::known(slice_range(x.shape[a].value, s[i], e[i], steps[i]).count);
      }
      return std::vector<ValueInfo>{make(x.dtype, out)};
    };
    m["Constant"] = [](Ctx& c, const Node& n) {
      TQ_CHECK(n.attrs.size() == 1, "{}: exactly one value attribute is required", n.describe());
      return std::vector<ValueInfo>{
          make(c.consts.at(n.outputs[0]).dtype(), dims_of(c.consts.at(n.outputs[0]).shape()))};
    };
    m["QuantizeLinear"] = [](Ctx& c, const Node& n) {
      ValueInfo v = c.in(n, 0);
      v.dtype = zp_type(c, n, 2, DType::U8);
      return std::vector<ValueInfo>{v};
    };
    m["DequantizeLinear"] = [](Ctx& c, const Node& n) {
      ValueInfo v = c.in(n, 0);
      v.dtype = DType::F32;
      return std::vector<ValueInfo>{v};
    };
    m["DynamicQuantizeLinear"] = [](Ctx& c, const Node& n) {
      ValueInfo v = c.in(n, 0);
      v.dtype = DType::U8;
      return std::vector<ValueInfo>{v, make(DType::F32, {}), make(DType::U8, {})};
    };
    m["Cast"] = [](Ctx& c, const Node& n) {
      ValueInfo v = c.in(n, 0);
      v.dtype = dtype_of_onnx_code(n.get_int("to", 0), n.describe());
      return std::vector<ValueInfo>{v};
    };
    return m;
  }();
  return r;
}

}  // namespace

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

bool is_supported_op(const std::string& domain, const std::string& op_type) {
  return domain.empty() && rules().count(op_type) != 0;
}

void infer_shapes(Model& model) {
  Graph& g = model.graph;
  Ctx c{model, {}, {}};
  for (const auto& v : g.inputs) c.vals[v.name] = v;
  for (const auto& [name, t] : g.initializers) {
    c.vals[name] = make(t.dtype(), dims_of(t.shape()));
    c.vals[name].name = name;
    c.consts[name] = t;
  }
  for (const auto& n : g.nodes) {
    auto it = rules().find(n.op_type);
    TQ_CHECK(n.domain.empty() && it != rules().end(), "operator '{}' ({}) is not supported", n.op_type,
             n.describe());
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
