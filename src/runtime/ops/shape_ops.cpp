// Operators that move or reinterpret data: Flatten, Reshape, Squeeze, Unsqueeze, Concat, Shape, Gather,
// Slice, Constant, Cast — one kernel-building function each, registered at the bottom.
#include <cmath>
#include <cstring>
#include <numeric>

#include "ir/op_math.h"
#include "runtime/kernel.h"

namespace tinyqat {
namespace {

std::vector<int64_t> axes_input(const Node& n, const std::vector<const Tensor*>& in, size_t i) {
  if (n.has("axes")) return n.get_ints("axes");
  if (i < in.size() && in[i]) return in[i]->to_i64();
  return {};
}

KernelFactory simple(KernelFn (*build)(const Node&)) {
  return [build](const KernelInit& init) { return make_kernel(build(init.node)); };
}

template <typename Src, typename Dst>
void convert(const Tensor& x, Tensor& y) {
  const Src* s = x.data<Src>();
  Dst* d = y.data<Dst>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    if constexpr (std::is_same_v<Dst, uint8_t> && std::is_same_v<Src, uint8_t>)
      d[i] = s[i];
    else if constexpr (std::is_floating_point_v<Src> && !std::is_floating_point_v<Dst>)
      d[i] = std::isnan(s[i]) ? Dst(0) : static_cast<Dst>(static_cast<int64_t>(s[i]));  // truncation, as C
    else
      d[i] = static_cast<Dst>(s[i]);
  }
}

template <typename Src>
void convert_from(const Tensor& x, Tensor& y) {
  switch (y.dtype()) {
    case DType::F32:
      convert<Src, float>(x, y);
      break;
    case DType::I8:
      convert<Src, int8_t>(x, y);
      break;
    case DType::U8:
      convert<Src, uint8_t>(x, y);
      break;
    case DType::I32:
      convert<Src, int32_t>(x, y);
      break;
    case DType::I64:
      convert<Src, int64_t>(x, y);
      break;
    case DType::Bool: {
      const Src* s = x.data<Src>();
      uint8_t* d = y.data<uint8_t>();
      for (int64_t i = 0; i < x.numel(); ++i) d[i] = s[i] != Src(0);
      break;
    }
  }
}

// Constant: the executor turns Constant nodes into constants when it is built; this never runs.
std::unique_ptr<Kernel> constant(const KernelInit&) {
  return make_kernel([](RunContext&, const std::vector<const Tensor*>&, std::vector<Tensor>&) {});
}

// Flatten: a view of x as [outer, rest].
KernelFn flatten(const Node& n) {
  int64_t axis_attr = n.get_int("axis", 1);
  return [&n, axis_attr](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x = *in[0];
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank() : axis_attr;
    TQ_CHECK(axis >= 0 && axis <= x.rank(), "{}: axis {} out of range", n.describe(), axis_attr);
    int64_t outer = 1;
    for (int i = 0; i < axis; ++i) outer *= x.dim(i);
    out[0] = x.reshaped({outer, outer ? x.numel() / outer : 0});
  };
}

// Reshape: a view with the requested shape (0 copies a dim unless allowzero, −1 infers one).
KernelFn reshape(const Node& n) {
  bool allowzero = n.get_int("allowzero", 0) != 0;
  return [&n, allowzero](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    out[0] = in[0]->reshaped(reshape_shape(in[0]->shape(), in[1]->to_i64(), allowzero, n.describe()));
  };
}

// Squeeze: a view without the given size-1 axes (all of them when no axes are given).
KernelFn squeeze(const Node& n) {
  return [&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x = *in[0];
    auto axes = axes_input(n, in, 1);
    std::vector<bool> drop(x.rank(), false);
    for (auto a : axes) drop[normalize_axis(a, x.rank(), n.describe())] = true;
    Shape s;
    for (int i = 0; i < x.rank(); ++i) {
      bool d = axes.empty() ? x.dim(i) == 1 : drop[i];
      TQ_CHECK(!d || x.dim(i) == 1, "{}: cannot squeeze axis {} of size {}", n.describe(), i, x.dim(i));
      if (!d) s.push_back(x.dim(i));
    }
    out[0] = x.reshaped(s);
  };
}

// Unsqueeze: a view with size-1 axes inserted.
KernelFn unsqueeze(const Node& n) {
  return [&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x = *in[0];
    auto axes = axes_input(n, in, 1);
    int64_t r = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> ins(r, false);
    for (auto a : axes) {
      int64_t ax = normalize_axis(a, r, n.describe());
      TQ_CHECK(!ins[ax], "{}: axis {} repeated", n.describe(), a);
      ins[ax] = true;
    }
    Shape s;
    for (int64_t i = 0, j = 0; i < r; ++i) s.push_back(ins[i] ? 1 : x.dim(static_cast<int>(j++)));
    out[0] = x.reshaped(s);
  };
}

// Concat: the inputs copied one after another along the axis.
KernelFn concat(const Node& n) {
  int64_t axis_attr = n.get_int("axis", 0);
  return [&n, axis_attr](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x0 = *in[0];
    int64_t axis = normalize_axis(axis_attr, x0.rank(), n.describe());
    Shape s = x0.shape();
    s[axis] = 0;
    for (const Tensor* t : in) {
      TQ_CHECK(t->dtype() == x0.dtype() && t->rank() == x0.rank(), "{}: inputs differ in type or rank",
               n.describe());
      for (int i = 0; i < x0.rank(); ++i)
        TQ_CHECK(i == axis || t->dim(i) == x0.dim(i), "{}: input shapes {} and {} differ off the concat axis",
                 n.describe(), shape_str(t->shape()), shape_str(x0.shape()));
      s[axis] += t->dim(static_cast<int>(axis));
    }
    out[0] = Tensor::empty(x0.dtype(), s);
    int64_t outer = 1;
    for (int i = 0; i < axis; ++i) outer *= s[i];
    const size_t es = dtype_size(x0.dtype());
    auto* dst = static_cast<uint8_t*>(out[0].raw());
    for (int64_t o = 0; o < outer; ++o)
      for (const Tensor* t : in) {
        size_t chunk = outer ? t->nbytes() / outer : 0;
        std::memcpy(dst, static_cast<const uint8_t*>(t->raw()) + o * chunk, chunk);
        dst += chunk;
      }
    (void)es;
  };
}

// Shape: the input's dims [start, end) as int64.
KernelFn shape(const Node& n) {
  int64_t start = n.get_int("start", 0), end_attr = n.get_int("end", INT64_MAX);
  return [start, end_attr](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    int64_t r = in[0]->rank();
    int64_t s = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
    int64_t e = std::clamp<int64_t>(end_attr < 0 ? end_attr + r : end_attr, 0, r);
    std::vector<int64_t> v;
    for (int64_t i = s; i < e; ++i) v.push_back(in[0]->dim(static_cast<int>(i)));
    out[0] = Tensor::from_i64({static_cast<int64_t>(v.size())}, v);
  };
}

// Gather: slices of x along the axis, picked by index (negative indices count from the end).
KernelFn gather(const Node& n) {
  int64_t axis_attr = n.get_int("axis", 0);
  return [&n, axis_attr](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x = *in[0];
    const Tensor& idx = *in[1];
    TQ_CHECK(idx.dtype() == DType::I64 || idx.dtype() == DType::I32, "{}: indices must be int32/int64",
             n.describe());
    int64_t axis = normalize_axis(axis_attr, x.rank(), n.describe());
    Shape s(x.shape().begin(), x.shape().begin() + axis);
    s.insert(s.end(), idx.shape().begin(), idx.shape().end());
    s.insert(s.end(), x.shape().begin() + axis + 1, x.shape().end());
    out[0] = Tensor::empty(x.dtype(), s);
    int64_t outer = 1, inner = 1, len = x.dim(static_cast<int>(axis));
    for (int i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int i = static_cast<int>(axis) + 1; i < x.rank(); ++i) inner *= x.dim(i);
    const size_t chunk = inner * dtype_size(x.dtype());
    auto ids = idx.to_i64();
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(out[0].raw());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : ids) {
        if (k < 0) k += len;
        TQ_CHECK(k >= 0 && k < len, "{}: index out of range [{}, {})", n.describe(), -len, len);
        std::memcpy(dst, src + (o * len + k) * chunk, chunk);
        dst += chunk;
      }
  };
}

// Slice: a strided window of x, copied element by element.
KernelFn slice(const Node& n) {
  return [&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x = *in[0];
    auto starts = in[1]->to_i64(), ends = in[2]->to_i64();
    std::vector<int64_t> axes(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
    if (in.size() > 3 && in[3]) axes = in[3]->to_i64();
    std::vector<int64_t> steps(starts.size(), 1);
    if (in.size() > 4 && in[4]) steps = in[4]->to_i64();
    TQ_CHECK(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
             "{}: starts/ends/axes/steps differ in length", n.describe());
    const int r = x.rank();
    std::vector<int64_t> st(r, 0), step(r, 1);
    Shape s = x.shape();
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t a = normalize_axis(axes[i], r, n.describe());
      TQ_CHECK(steps[i] != 0, "{}: step must not be 0", n.describe());
      SliceRange sr = slice_range(x.dim(static_cast<int>(a)), starts[i], ends[i], steps[i]);
      st[a] = sr.start;
      step[a] = sr.step;
      s[a] = sr.count;
    }
    out[0] = Tensor::empty(x.dtype(), s);
    if (out[0].numel() == 0) return;
    std::vector<int64_t> xstride(r, 1);
    for (int i = r - 2; i >= 0; --i) xstride[i] = xstride[i + 1] * x.dim(i + 1);
    const size_t es = dtype_size(x.dtype());
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(out[0].raw());
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < out[0].numel(); ++o) {
      int64_t off = 0;
      for (int i = 0; i < r; ++i) off += (st[i] + idx[i] * step[i]) * xstride[i];
      std::memcpy(dst + o * es, src + off * es, es);
      for (int i = r - 1; i >= 0; --i) {
        if (++idx[i] < s[i]) break;
        idx[i] = 0;
      }
    }
  };
}

// Cast: element-wise type conversion (float → integer truncates, NaN → 0, as C).
KernelFn cast(const Node& n) {
  DType t = dtype_of_onnx_code(n.get_int("to", 0), n.describe());
  return [t](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
    const Tensor& x = *in[0];
    out[0] = Tensor::empty(t, x.shape());
    switch (x.dtype()) {
      case DType::F32:
        convert_from<float>(x, out[0]);
        break;
      case DType::I8:
        convert_from<int8_t>(x, out[0]);
        break;
      case DType::U8:
      case DType::Bool:
        convert_from<uint8_t>(x, out[0]);
        break;
      case DType::I32:
        convert_from<int32_t>(x, out[0]);
        break;
      case DType::I64:
        convert_from<int64_t>(x, out[0]);
        break;
    }
  };
}

}  // namespace

void register_shape_ops(KernelRegistry& r) {
  r["Constant"] = constant;
  r["Flatten"] = simple(flatten);
  r["Reshape"] = simple(reshape);
  r["Squeeze"] = simple(squeeze);
  r["Unsqueeze"] = simple(unsqueeze);
  r["Concat"] = simple(concat);
  r["Shape"] = simple(shape);
  r["Gather"] = simple(gather);
  r["Slice"] = simple(slice);
  r["Cast"] = simple(cast);
}

}  // namespace tinyqat
