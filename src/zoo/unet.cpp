#include "ir/builder.h"
#include "zoo/init.h"
#include "zoo/zoo.h"

namespace tinyqat::zoo {

Model unet(int64_t c, int64_t w, uint64_t seed) {
  GraphBuilder b("unet");
  uint64_t st = seed * 2654435761ULL + 7;
  auto bias = [&](const std::string& name, int64_t n) {
    return b.constant(name + ".bias", Tensor::zeros(DType::F32, {n}));
  };
  auto conv_relu = [&](const std::string& x, int64_t cin, int64_t cout, const std::string& name) {
    auto wt = b.constant(name + ".weight", he_weights({cout, cin, 3, 3}, st, 1.f));
    return b.op(
        "Relu",
        {b.op("Conv", {x, wt, bias(name, cout)},
              {{"pads", Attribute::of_ints({1, 1, 1, 1})}, {"kernel_shape", Attribute::of_ints({3, 3})}})});
  };
  auto pair = [&](const std::string& x, int64_t cin, int64_t cout, const std::string& name) {
    return conv_relu(conv_relu(x, cin, cout, name + ".0"), cout, cout, name + ".1");
  };
  auto pool = [&](const std::string& x) {
    return b.op("MaxPool", {x},
                {{"kernel_shape", Attribute::of_ints({2, 2})}, {"strides", Attribute::of_ints({2, 2})}});
  };
  auto up = [&](const std::string& x, int64_t cin, int64_t cout, const std::string& name) {
    // ConvTranspose weight [C_in, C_out, kH, kW]: 2×2, stride 2 doubles H and W.
    auto wt = b.constant(name + ".weight", he_weights({cin, cout, 2, 2}, st, 1.f));
    return b.op("ConvTranspose", {x, wt, bias(name, cout)},
                {{"kernel_shape", Attribute::of_ints({2, 2})}, {"strides", Attribute::of_ints({2, 2})}});
  };
  auto cat = [&](const std::string& a, const std::string& s) {
    return b.op("Concat", {a, s}, {{"axis", Attribute::of_int(1)}});
  };
  auto x = b.input("image", DType::F32, {"N", c, "H", "W"});
  auto s1 = pair(x, c, w, "enc1");
  auto s2 = pair(pool(s1), w, 2 * w, "enc2");
  auto mid = pair(pool(s2), 2 * w, 4 * w, "mid");
  auto d2 = pair(cat(up(mid, 4 * w, 2 * w, "up2"), s2), 4 * w, 2 * w, "dec2");
  auto d1 = pair(cat(up(d2, 2 * w, w, "up1"), s1), 2 * w, w, "dec1");
  auto head =
      b.op("Conv", {d1, b.constant("head.weight", he_weights({1, w, 1, 1}, st, 1.f)), bias("head", 1)},
           {{"kernel_shape", Attribute::of_ints({1, 1})}});
  b.output(b.op("Sigmoid", {head}), "mask");
  Model m = b.finish();
  m.metadata.emplace_back("tinyqat.arch", "unet");
  m.metadata.emplace_back("tinyqat.arch_args",
                          "in_channels=" + std::to_string(c) + ",width=" + std::to_string(w));
  return m;
}

}  // namespace tinyqat::zoo
