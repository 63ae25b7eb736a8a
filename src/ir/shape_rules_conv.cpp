// Shape rules: Conv and ConvTranspose (fp32). The integer convolutions are in shape_rules_quant.cpp.
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

Out conv(Ctx& c, const Node& n) {
  const auto& w = c.in(n, 1);
  return {infer_window(n, c.in(n, 0), weight_kernel(n, w), w.shape[0], DType::F32)};
}

Out conv_transpose(Ctx& c, const Node& n) {
  const auto& x = c.in(n, 0);
  const auto& w = c.in(n, 1);
  auto k = weight_kernel(n, w);
  int64_t group = n.get_int("group", 1);
  Dim ch = w.shape[1].is_known() ? Dim::known(w.shape[1].value * group) : Dim{};
  if (!x.has_shape) return {unknown_shape(DType::F32)};
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
  return {make(DType::F32, out)};
}

}  // namespace

void register_conv(Rules& r) {
  r["Conv"] = conv;
  r["ConvTranspose"] = conv_transpose;
}

}  // namespace tinyqat::shape_rules
