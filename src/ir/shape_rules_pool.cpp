// Shape rules: MaxPool, AveragePool, GlobalAveragePool and ReduceMean.
#include "core/error.h"
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

Out pool(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  auto k = n.get_ints("kernel_shape");
  TQ_CHECK(!k.empty(), "{}: kernel_shape is required", n.describe());
  TQ_CHECK(n.outputs.size() == 1, "{}: the Indices output is not supported", n.describe());
  TQ_CHECK(!x.has_shape || x.shape.size() == k.size() + 2, "{}: input rank {} does not match a {}-D kernel",
           n.describe(), x.shape.size(), k.size());
  return {infer_window(n, x, k, x.has_shape ? x.shape[1] : Dim{}, x.dtype)};
}

Out global_average_pool(Ctx& c, const Node& n) {
  ValueInfo x = c.in(n, 0);
  if (x.has_shape)
    for (size_t i = 2; i < x.shape.size(); ++i) x.shape[i] = Dim::known(1);
  return {x};
}

Out reduce_mean(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  bool known;
  auto axes = axes_of(c, n, 1, &known);
  bool keep = n.get_int("keepdims", 1) != 0;
  if (!x.has_shape || !known) return {unknown_shape(x.dtype)};
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
  return {make(x.dtype, out)};
}

}  // namespace

void register_pool(Rules& r) {
  r["MaxPool"] = pool;
  r["AveragePool"] = pool;
  r["GlobalAveragePool"] = global_average_pool;
  r["ReduceMean"] = reduce_mean;
}

}  // namespace tinyqat::shape_rules
