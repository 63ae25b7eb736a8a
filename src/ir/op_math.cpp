#include "ir/op_math.h"

#include <algorithm>

#include "core/error.h"
#include "ir/graph.h"

namespace tinyqat {

WindowAttrs window_attrs(const Node& n, const std::vector<int64_t>& kernel) {
  WindowAttrs w;
  const size_t s = kernel.size();
  w.kernel = kernel;
  w.strides = n.get_ints("strides", std::vector<int64_t>(s, 1));
  w.dilations = n.get_ints("dilations", std::vector<int64_t>(s, 1));
  w.pads = n.get_ints("pads", std::vector<int64_t>(2 * s, 0));
  w.auto_pad = n.get_string("auto_pad", "NOTSET");
  w.ceil_mode = n.get_int("ceil_mode", 0) != 0;
  TQ_CHECK(w.strides.size() == s && w.dilations.size() == s && w.pads.size() == 2 * s,
           "{}: strides/dilations/pads do not match the {} spatial dims", n.describe(), s);
  for (size_t i = 0; i < s; ++i) {
    TQ_CHECK(w.kernel[i] > 0 && w.strides[i] > 0 && w.dilations[i] > 0,
             "{}: kernel, strides and dilations must be positive", n.describe());
    TQ_CHECK(
        w.kernel[i] <= kMaxWindowAttr && w.strides[i] <= kMaxWindowAttr && w.dilations[i] <= kMaxWindowAttr,
        "{}: kernel, strides or dilations are absurdly large", n.describe());
    TQ_CHECK(w.pads[i] >= 0 && w.pads[i + s] >= 0, "{}: pads must not be negative", n.describe());
    TQ_CHECK(w.pads[i] <= kMaxWindowAttr && w.pads[i + s] <= kMaxWindowAttr, "{}: pads are absurdly large",
             n.describe());
  }
  TQ_CHECK(w.auto_pad == "NOTSET" || w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER" ||
               w.auto_pad == "VALID",
           "{}: unknown auto_pad '{}'", n.describe(), w.auto_pad);
  return w;
}

TransposeAttrs conv_transpose_attrs(const Node& n, const std::vector<int64_t>& kernel) {
  const size_t s = kernel.size();
  TransposeAttrs a{window_attrs(n, kernel), n.get_ints("output_padding", std::vector<int64_t>(s, 0)),
                   n.get_ints("output_shape")};
  TQ_CHECK(a.out_pad.size() == s, "{}: output_padding must have {} values, has {}", n.describe(), s,
           a.out_pad.size());
  TQ_CHECK(a.out_shape.empty() || a.out_shape.size() >= s, "{}: output_shape must have at least {} values",
           n.describe(), s);
  for (int64_t v : a.out_pad)
    TQ_CHECK(v >= 0 && v <= kMaxWindowAttr, "{}: output_padding {} is out of range", n.describe(), v);
  for (int64_t v : a.out_shape)
    TQ_CHECK(v >= 0 && v <= kMaxDim, "{}: output_shape value {} is out of range", n.describe(), v);
  return a;
}

TransposeAxis conv_transpose_axis(const Node& n, const TransposeAttrs& a, size_t i, int64_t in) {
  const WindowAttrs& w = a.w;
  const size_t s = w.kernel.size();
  // full = stride·(in − 1) + output_padding + (k − 1)·dilation + 1, checked: in may be up to 2^40.
  int64_t full = 0;
  TQ_CHECK(in >= 0 && !__builtin_mul_overflow(w.strides[i], in - 1, &full) &&
               !__builtin_add_overflow(full, a.out_pad[i] + (w.kernel[i] - 1) * w.dilations[i] + 1, &full),
           "{}: input size {} is negative or absurdly large for this transposed convolution", n.describe(),
           in);
  const bool same = w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER";
  if (!a.out_shape.empty() || same) {
    int64_t out = 0;
    if (!a.out_shape.empty())
      out = a.out_shape[a.out_shape.size() - s + i];
    else
      TQ_CHECK(!__builtin_mul_overflow(in, w.strides[i], &out), "{}: output size is absurdly large",
               n.describe());
    const int64_t total = full - out;
    TQ_CHECK(total >= 0, "{}: output_shape larger than the transposed convolution produces", n.describe());
    return {out, w.auto_pad != "SAME_LOWER" ? total / 2 : total - total / 2};
  }
  const bool valid = w.auto_pad == "VALID";
  const int64_t pb = valid ? 0 : w.pads[i], out = full - pb - (valid ? 0 : w.pads[i + s]);
  TQ_CHECK(out >= 0, "{}: negative output size", n.describe());
  return {out, pb};
}

std::vector<int64_t> resolve_pads(const WindowAttrs& w, const std::vector<int64_t>& in) {
  const size_t s = w.kernel.size();
  if (w.auto_pad == "NOTSET") return w.pads;
  std::vector<int64_t> pads(2 * s, 0);
  if (w.auto_pad == "VALID") return pads;
  for (size_t i = 0; i < s; ++i) {
    int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
    int64_t eff_k = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + eff_k - in[i]);
    int64_t small = total / 2, big = total - small;
    pads[i] = w.auto_pad == "SAME_UPPER" ? small : big;
    pads[i + s] = w.auto_pad == "SAME_UPPER" ? big : small;
  }
  return pads;
}

int64_t window_out_dim(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pb, int64_t pe,
                       bool ceil_mode) {
  int64_t eff_k = (k - 1) * dilation + 1;
  int64_t span = in + pb + pe - eff_k;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // With ceil_mode the last window must start inside the input or left padding (ONNX/ORT rule).
  if (ceil_mode && (out - 1) * stride >= in + pb) --out;
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& ctx) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    TQ_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} do not broadcast", ctx, shape_str(a),
             shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& ctx) {
  TQ_CHECK(axis >= -rank && axis < rank, "{}: axis {} is out of range for rank {}", ctx, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Shape reshape_shape(const Shape& in, const std::vector<int64_t>& req, bool allowzero,
                    const std::string& ctx) {
  Shape out(req.size());
  int64_t known = 1, infer = -1;
  int64_t total = 1;
  for (int64_t d : in)
    TQ_CHECK(!__builtin_mul_overflow(total, d, &total), "{}: input shape {} is absurdly large", ctx,
             shape_str(in));
  for (size_t i = 0; i < req.size(); ++i) {
    int64_t d = req[i];
    if (d == 0 && !allowzero) {
      TQ_CHECK(i < in.size(), "{}: reshape copies dim {} which the input {} does not have", ctx, i,
               shape_str(in));
      d = in[i];
    }
    if (d == -1) {
      TQ_CHECK(infer < 0, "{}: reshape target {} has more than one -1", ctx, shape_str(req));
      infer = static_cast<int64_t>(i);
      continue;
    }
    TQ_CHECK(d >= 0, "{}: reshape target {} has a negative dimension", ctx, shape_str(req));
    out[i] = d;
    TQ_CHECK(!__builtin_mul_overflow(known, d, &known), "{}: reshape target {} is absurdly large", ctx,
             shape_str(req));
  }
  if (infer >= 0) {
    TQ_CHECK(known != 0 && total % known == 0, "{}: cannot reshape {} into {}", ctx, shape_str(in),
             shape_str(req));
    out[infer] = total / known;
    known *= out[infer];
  }
  TQ_CHECK(known == total, "{}: cannot reshape {} ({} elements) into {}", ctx, shape_str(in), total,
           shape_str(req));
  return out;
}

DType dtype_of_onnx_code(int64_t code, const std::string& ctx) {
  switch (code) {  // TensorProto.DataType: FLOAT 1, UINT8 2, INT8 3, INT32 6, INT64 7, BOOL 9
    case 1:
      return DType::F32;
    case 2:
      return DType::U8;
    case 3:
      return DType::I8;
    case 6:
      return DType::I32;
    case 7:
      return DType::I64;
    case 9:
      return DType::Bool;
    default:
      break;
  }
  fail("{}: element type code {} is not supported (float32, int8, uint8, int32, int64, bool are)", ctx, code);
}

SliceRange slice_range(int64_t dim, int64_t start, int64_t end, int64_t step) {
  TQ_CHECK(step != 0, "Slice: step must not be 0");
  TQ_CHECK(dim >= 0 && dim <= kMaxDim, "Slice: axis size {} is out of range", dim);
  // |step| beyond the axis takes at most one element either way; bounded, the count cannot overflow.
  step = std::clamp<int64_t>(step, -(int64_t(1) << 62), int64_t(1) << 62);
  if (dim == 0) return {0, 0, step, 0};
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
  int64_t count = step > 0 ? std::max<int64_t>(0, (end - start + step - 1) / step)
                           : std::max<int64_t>(0, (start - end - step - 1) / (-step));
  return {start, end, step, count};
}

}  // namespace tinyqat
