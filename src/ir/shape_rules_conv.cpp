// Shape rules: Conv and ConvTranspose (fp32). The integer convolutions are in shape_rules_quant.cpp.
#include "core/error.h"
#include "ir/op_math.h"
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

Out conv(Ctx& c, const Node& n) {
  const auto& w = c.in(n, 1);
  auto k = weight_kernel(n, w);  // checks w's rank before w.shape[0] is read
  return {infer_window(n, c.in(n, 0), k, w.shape[0], DType::F32)};
}

Out conv_transpose(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  const auto& w = c.in(n, 1);
  auto k = weight_kernel(n, w);
  const int64_t group = n.get_int("group", 1);
  TQ_CHECK(group >= 1 && group <= kMaxWindowAttr, "{}: group {} is out of range", n.describe(), group);
  Dim ch;
  if (w.shape[1].is_known())
    TQ_CHECK(!__builtin_mul_overflow(w.shape[1].value, group, &ch.value), "{}: output channels overflow",
             n.describe());
  const TransposeAttrs a = conv_transpose_attrs(n, k);
  if (!x.has_shape) return {unknown_shape(DType::F32)};
  TQ_CHECK(x.shape.size() == k.size() + 2, "{}: input rank {} does not match a {}-D kernel", n.describe(),
           x.shape.size(), k.size());
  Dims out{x.shape[0], ch};
  for (size_t i = 0; i < k.size(); ++i) {
    if (x.shape[i + 2].is_known())
      out.push_back(Dim::known(conv_transpose_axis(n, a, i, x.shape[i + 2].value).out));
    else if (!a.out_shape.empty())
      out.push_back(Dim::known(a.out_shape[a.out_shape.size() - k.size() + i]));
    else
      out.push_back(Dim{});
  }
  return {make(DType::F32, out)};
}

}  // namespace

void register_conv(Rules& r) {
  r["Conv"] = conv;
  r["ConvTranspose"] = conv_transpose;
}

}  // namespace tinyqat::shape_rules
