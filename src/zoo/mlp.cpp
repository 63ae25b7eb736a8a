#include <cmath>

#include "core/error.h"
#include "ir/builder.h"
#include "zoo/init.h"
#include "zoo/layers.h"
#include "zoo/zoo.h"

namespace tinyqat::zoo {

Model mlp(int64_t in, const std::vector<int64_t>& hidden, const std::string& activation,
          const std::vector<float>& mean, const std::vector<float>& sd, uint64_t seed) {
  TQ_CHECK(activation == "relu" || activation == "gelu", "mlp: activation '{}' is not relu or gelu",
           activation);
  TQ_CHECK(static_cast<int64_t>(mean.size()) == in && static_cast<int64_t>(sd.size()) == in,
           "mlp: input_mean and input_std need {} values each (in_features), got {} and {}", in, mean.size(),
           sd.size());
  for (float s : sd) TQ_CHECK(s > 0 && std::isfinite(s), "mlp: input_std values must be positive, got {}", s);
  GraphBuilder b("mlp");
  uint64_t st = seed * 2654435761ULL + 11;
  auto vec = [](const std::vector<float>& v) {
    Tensor t = Tensor::empty(DType::F32, {static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
    return t;
  };
  auto x = b.input("features", DType::F32, {"N", in});
  auto h =
      b.op("Div", {b.op("Sub", {x, b.constant("input_mean", vec(mean))}), b.constant("input_std", vec(sd))});
  int64_t width = in;
  auto linear = [&](const std::string& v, int64_t out, const std::string& name, float gain) {
    return b.op("Gemm",
                {v, b.constant(name + ".weight", he_weights({out, width}, st, gain)),
                 b.constant(name + ".bias", Tensor::zeros(DType::F32, {out}))},
                {{"transB", Attribute::of_int(1)}});
  };
  for (size_t i = 0; i < hidden.size(); ++i) {
    TQ_CHECK(hidden[i] > 0, "mlp: hidden layer sizes must be positive, got {}", hidden[i]);
    h = linear(h, hidden[i], "fc" + std::to_string(i), 1.f);
    if (activation == "relu") {
      h = b.op("Relu", {h});
    } else {
      h = gelu_erf(b, h);
    }
    width = hidden[i];
  }
  auto y = linear(h, 1, "head", 0.5f);
  Tensor axes = Tensor::empty(DType::I64, {1});
  axes.data<int64_t>()[0] = 1;
  b.output(b.op("Squeeze", {y, b.constant("squeeze_axes", axes)}), "score");
  Model m = b.finish();
  m.metadata.emplace_back("tinyqat.arch", "mlp");
  return m;
}

}  // namespace tinyqat::zoo
