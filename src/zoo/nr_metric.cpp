#include "ir/builder.h"
#include "zoo/init.h"
#include "zoo/zoo.h"

namespace tinyqat::zoo {

Model nr_metric(int64_t c, int64_t w, uint64_t seed) {
  GraphBuilder b("nr_metric");
  uint64_t st = seed * 2654435761ULL + 7;
  auto relu6 = [&](const std::string& x) {
    return b.op("Clip", {x, b.constant(b.model().graph.unique_name("zero"), Tensor::scalar_f32(0.f)),
                         b.constant(b.model().graph.unique_name("six"), Tensor::scalar_f32(6.f))});
  };
  // Conv (no bias: the BatchNormalization after it carries the shift) + BN + ReLU6.
  auto conv_bn = [&](const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                     int64_t groups, const std::string& name) {
    auto wt = b.constant(name + ".weight", he_weights({cout, cin / groups, k, k}, st, 1.f));
    auto y = b.op("Conv", {x, wt},
                  {{"pads", Attribute::of_ints({k / 2, k / 2, k / 2, k / 2})},
                   {"kernel_shape", Attribute::of_ints({k, k})},
                   {"strides", Attribute::of_ints({stride, stride})},
                   {"group", Attribute::of_int(groups)}});
    Tensor ones = Tensor::empty(DType::F32, {cout});
    for (int64_t i = 0; i < cout; ++i) ones.data<float>()[i] = 1.f;
    auto bn = b.op("BatchNormalization",
                   {y, b.constant(name + ".bn.weight", ones),
                    b.constant(name + ".bn.bias", Tensor::zeros(DType::F32, {cout})),
                    b.constant(name + ".bn.running_mean", Tensor::zeros(DType::F32, {cout})),
                    b.constant(name + ".bn.running_var", ones)},
                   {{"epsilon", Attribute::of_float(1e-5f)}, {"momentum", Attribute::of_float(0.9f)}});
    return relu6(bn);
  };
  auto x = b.input("frame", DType::F32, {"N", c, "H", "W"});
  auto h = conv_bn(x, c, w, 3, 2, 1, "stem");
  const int64_t widths[] = {w, 2 * w, 2 * w, 4 * w, 4 * w, 8 * w};
  const int64_t strides[] = {2, 1, 2, 1, 2};
  for (int i = 0; i < 5; ++i) {
    const std::string p = "block" + std::to_string(i);
    h = conv_bn(h, widths[i], widths[i], 3, strides[i], widths[i], p + ".dw");
    h = conv_bn(h, widths[i], widths[i + 1], 1, 1, 1, p + ".pw");
  }
  auto pooled = b.op("Flatten", {b.op("GlobalAveragePool", {h})}, {{"axis", Attribute::of_int(1)}});
  auto fc = b.op("Gemm",
                 {pooled, b.constant("head.weight", he_weights({1, 8 * w}, st, 0.5f)),
                  b.constant("head.bias", Tensor::zeros(DType::F32, {1}))},
                 {{"transB", Attribute::of_int(1)}});
  Tensor axes = Tensor::empty(DType::I64, {1});
  axes.data<int64_t>()[0] = 1;
  b.output(b.op("Squeeze", {fc, b.constant("squeeze_axes", axes)}), "mos");
  Model m = b.finish();
  m.metadata.emplace_back("tinyqat.arch", "nr_metric");
  m.metadata.emplace_back("tinyqat.arch_args",
                          "in_channels=" + std::to_string(c) + ",width=" + std::to_string(w));
  return m;
}

}  // namespace tinyqat::zoo
