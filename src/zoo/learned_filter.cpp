#include "ir/builder.h"
#include "zoo/init.h"
#include "zoo/zoo.h"

namespace tinyqat::zoo {

Model learned_filter(int64_t c, int64_t w, int64_t blocks, uint64_t seed) {
  GraphBuilder b("learned_filter");
  uint64_t st = seed * 2654435761ULL + 1;
  auto conv = [&](const std::string& x, int64_t cin, int64_t cout, const std::string& name, float gain) {
    auto wt = b.constant(name + ".weight", he_weights({cout, cin, 3, 3}, st, gain));
    auto bias = b.constant(name + ".bias", Tensor::zeros(DType::F32, {cout}));
    return b.op("Conv", {x, wt, bias},
                {{"pads", Attribute::of_ints({1, 1, 1, 1})}, {"kernel_shape", Attribute::of_ints({3, 3})}});
  };
  auto x = b.input("degraded", DType::F32, {"N", c, "H", "W"});
  auto h = conv(x, c, w, "head", 1.f);
  for (int64_t i = 0; i < blocks; ++i) {
    std::string p = "block" + std::to_string(i);
    auto r = conv(b.op("Relu", {conv(h, w, w, p + ".conv1", 1.f)}), w, w, p + ".conv2", 0.5f);
    h = b.op("Add", {h, r});
  }
  auto res = conv(h, w, c, "tail", 0.1f);
  auto y = b.op("Clip", {b.op("Add", {x, res}), b.constant("zero", Tensor::scalar_f32(0.f)),
                         b.constant("one", Tensor::scalar_f32(1.f))});
  b.output(y, "filtered");
  Model m = b.finish();
  m.metadata.emplace_back("tinyqat.arch", "learned_filter");
  m.metadata.emplace_back("tinyqat.arch_args", "channels=" + std::to_string(c) +
                                                   ",width=" + std::to_string(w) +
                                                   ",num_blocks=" + std::to_string(blocks));
  return m;
}

}  // namespace tinyqat::zoo
