// Shape rules: ops that move or reinterpret data (Constant, Flatten, Reshape, Squeeze, Unsqueeze, Concat,
// Shape, Gather, Slice, Cast).
#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

Out constant(Ctx& c, const Node& n) {
  TQ_CHECK(n.attrs.size() == 1, "{}: exactly one value attribute is required", n.describe());
  return {make(c.consts.at(n.outputs[0]).dtype(), dims_of(c.consts.at(n.outputs[0]).shape()))};
}

Out flatten(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  if (!x.has_shape) return {unknown_shape(x.dtype)};
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
  return {make(x.dtype, {prod(0, axis), prod(axis, r)})};
}

Out reshape(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  const Tensor* s = c.constant(n, 1);
  if (!s) {
    // Computed at run time: the rank is still the length of the shape vector when that is known.
    const ValueInfo& sv = c.in(n, 1);
    if (sv.has_shape && sv.shape.size() == 1 && sv.shape[0].is_known()) {
      TQ_CHECK(sv.shape[0].value <= kMaxRank, "{}: a shape of {} dims is beyond the rank limit {}",
               n.describe(), sv.shape[0].value, kMaxRank);
      return {make(x.dtype, Dims(sv.shape[0].value, Dim{}))};
    }
    return {unknown_shape(x.dtype)};
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
    return {make(x.dtype, dims_of(reshape_shape(in, req, allowzero, n.describe())))};
  }
  for (size_t i = 0; i < req.size(); ++i) {
    if (req[i] == 0 && !allowzero && x.has_shape && i < x.shape.size())
      out.push_back(x.shape[i]);
    else if (req[i] > 0)
      out.push_back(Dim::known(req[i]));
    else
      out.push_back(Dim{});
  }
  return {make(x.dtype, out)};
}

Out squeeze(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  bool known;
  auto axes = axes_of(c, n, 1, &known);
  if (!x.has_shape || !known) return {unknown_shape(x.dtype)};
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
  return {make(x.dtype, out)};
}

Out unsqueeze(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  bool known;
  auto axes = axes_of(c, n, 1, &known);
  if (!x.has_shape || !known) return {unknown_shape(x.dtype)};
  int64_t r = static_cast<int64_t>(x.shape.size() + axes.size());
  std::vector<bool> ins(r, false);
  for (auto a : axes) {
    const int64_t ax = normalize_axis(a, r, n.describe());
    TQ_CHECK(!ins[ax], "{}: axis {} is repeated", n.describe(), a);
    ins[ax] = true;
  }
  Dims out;
  size_t j = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(ins[i] ? Dim::known(1) : x.shape[j++]);
  return {make(x.dtype, out)};
}

Out concat(Ctx& c, const Node& n) {
  const auto& x0 = c.in(n, 0);
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (!c.in(n, i).has_shape) return {unknown_shape(x0.dtype)};
  int64_t r = static_cast<int64_t>(x0.shape.size());
  int64_t axis = normalize_axis(n.get_int("axis", 0), r, n.describe());
  Dims out = x0.shape;
  for (size_t i = 1; i < n.inputs.size(); ++i) {
    const auto& xi = c.in(n, i);
    TQ_CHECK(static_cast<int64_t>(xi.shape.size()) == r, "{}: inputs differ in rank", n.describe());
    if (out[axis].is_known() && xi.shape[axis].is_known()) {
      out[axis].value += xi.shape[axis].value;  // both ≤ kMaxDim: no overflow
      TQ_CHECK(out[axis].value <= kMaxDim, "{}: the concatenated axis is absurdly large", n.describe());
    } else
      out[axis] = Dim{};
  }
  return {make(x0.dtype, out)};
}

Out shape(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  if (!x.has_shape) return {make(DType::I64, {Dim{}})};
  int64_t r = static_cast<int64_t>(x.shape.size());
  int64_t s = n.get_int("start", 0), e = n.get_int("end", r);
  s = std::clamp<int64_t>(s < 0 ? s + r : s, 0, r);
  e = std::clamp<int64_t>(e < 0 ? e + r : e, 0, r);
  return {make(DType::I64, {Dim::known(std::max<int64_t>(0, e - s))})};
}

Out gather(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  const auto& idx = c.in(n, 1);
  if (!x.has_shape || !idx.has_shape) return {unknown_shape(x.dtype)};
  int64_t axis = normalize_axis(n.get_int("axis", 0), static_cast<int64_t>(x.shape.size()), n.describe());
  Dims out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  return {make(x.dtype, out)};
}

Out slice(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  const Tensor *st = c.constant(n, 1), *en = c.constant(n, 2);
  const Tensor* ax = c.constant(n, 3);
  const Tensor* sp = c.constant(n, 4);
  bool dyn_axes = n.input(3) && !ax, dyn_steps = n.input(4) && !sp;
  if (!x.has_shape || !st || !en || dyn_axes || dyn_steps) {
    if (!x.has_shape) return {unknown_shape(x.dtype)};
    Dims out(x.shape.size(), Dim{});
    return {make(x.dtype, out)};
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
  return {make(x.dtype, out)};
}

Out cast(Ctx& c, const Node& n) {
  ValueInfo v = c.in(n, 0);
  v.dtype = dtype_of_onnx_code(n.get_int("to", 0), n.describe());
  return {v};
}

}  // namespace

void register_shape(Rules& r) {
  r["Constant"] = constant;
  r["Flatten"] = flatten;
  r["Reshape"] = reshape;
  r["Squeeze"] = squeeze;
  r["Unsqueeze"] = unsqueeze;
  r["Concat"] = concat;
  r["Shape"] = shape;
  r["Gather"] = gather;
  r["Slice"] = slice;
  r["Cast"] = cast;
}

}  // namespace tinyqat::shape_rules
