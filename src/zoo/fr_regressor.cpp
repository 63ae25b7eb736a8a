#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "ir/builder.h"
#include "zoo/init.h"
#include "zoo/layers.h"
#include "zoo/zoo.h"

namespace tinyqat::zoo {

Model fr_regressor(int64_t in, int64_t hidden, int64_t depth, double dropout, uint64_t seed) {
  TQ_CHECK(dropout >= 0 && dropout < 1, "fr_regressor: dropout {} is not in [0, 1)", dropout);
  GraphBuilder b("fr_regressor");
  uint64_t st = seed * 2654435761ULL + 13;
  // Parameter names follow the fork's module (nn.Sequential `net`: Linear, GELU, Dropout per layer).
  int64_t width = in;
  auto linear = [&](const std::string& v, int64_t out, int index, float gain) {
    const std::string name = fmt::format("net.{}", index);
    return b.op("Gemm",
                {v, b.constant(name + ".weight", he_weights({out, width}, st, gain)),
                 b.constant(name + ".bias", Tensor::zeros(DType::F32, {out}))},
                {{"transB", Attribute::of_int(1)}});
  };
  auto h = b.input("features", DType::F32, {"N", in});
  std::vector<std::string> dropped;
  for (int64_t i = 0; i < depth; ++i) {
    h = gelu_erf(b, linear(h, hidden, static_cast<int>(3 * i), 1.f));
    dropped.push_back(h);
    width = hidden;
  }
  auto y = linear(h, 1, static_cast<int>(3 * depth), 0.5f);
  Tensor axes = Tensor::empty(DType::I64, {1});
  axes.data<int64_t>()[0] = 1;
  b.output(b.op("Squeeze", {y, b.constant("squeeze_axes", axes)}), "vmaf");
  Model m = b.finish();
  m.metadata.emplace_back("tinyqat.arch", "fr_regressor");
  m.metadata.emplace_back("tinyqat.arch_args", fmt::format("in_features={},hidden={},depth={},dropout={}", in,
                                                           hidden, depth, dropout));
  if (dropout > 0 && !dropped.empty())
    m.metadata.emplace_back(kDropoutKey, fmt::format("{}@{}", dropout, fmt::join(dropped, ",")));
  return m;
}

}  // namespace tinyqat::zoo
