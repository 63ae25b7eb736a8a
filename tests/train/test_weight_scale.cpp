// One definition of the per-channel int8 weight scale (core/numerics.h weight_scale): the quantizer
// (quant::quantize_weight_per_channel, C++) and the trainer's weight fake-quant
// (train::weight_scale_per_channel, LibTorch) give the same bits, so the deployed weights are the
// fake-quantized ones the trainer saw.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <torch/torch.h>

#include "core/numerics.h"
#include "quant/weights.h"
#include "support/test_support.h"
#include "train/fake_quant.h"

namespace tinyqat::test {
namespace {

torch::Tensor to_torch(const Tensor& t) {
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<void*>(t.raw()), shape, torch::kFloat32).clone();
}

// Weights whose channels span many magnitudes, with an all-zero channel and one below the floor.
Tensor awkward_weights(const Shape& shape, int64_t axis, uint64_t seed) {
  Rng r(seed);
  Tensor w = Tensor::empty(DType::F32, shape);
  const int64_t C = shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t c = (i / inner) % C;
    const float magnitude = std::pow(10.f, static_cast<float>(c % 9) - 6.f);  // 1e-6 … 1e2
    float v = r.normal() * magnitude;
    if (c == 1) v = 0.f;                            // all-zero channel: the floor
    if (c == 2) v = r.uniform(-1.f, 1.f) * 1e-13f;  // under the floor
    w.data<float>()[i] = v;
  }
  return w;
}

TEST(WeightScale, QuantizerAndTrainerAgreeBitForBit) {
  struct Case {
    Shape shape;
    int64_t axis;
  };
  const Case cases[] = {{{16, 3, 3, 3}, 0}, {{32, 1, 3, 3}, 0}, {{24, 8}, 1},
                        {{24, 8}, 0},       {{9, 40}, 1},       {{12, 5, 7}, 0}};
  int64_t compared = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed)
    for (const Case& c : cases) {
      const Tensor w = awkward_weights(c.shape, c.axis, seed);
      const quant::QuantizedWeight qw = quant::quantize_weight_per_channel(w, c.axis);
      const torch::Tensor ts = train::weight_scale_per_channel(to_torch(w), c.axis).contiguous();
      ASSERT_EQ(ts.numel(), qw.scale.numel());
      ASSERT_EQ(ts.scalar_type(), torch::kFloat32);
      for (int64_t i = 0; i < ts.numel(); ++i) {
        const float a = qw.scale.data<float>()[i], b = ts.data_ptr<float>()[i];
        uint32_t ab, bb;
        std::memcpy(&ab, &a, 4);
        std::memcpy(&bb, &b, 4);
        ASSERT_EQ(ab, bb) << "channel " << i << " seed " << seed << ": quantizer " << a << ", trainer " << b;
        ++compared;
      }
    }
  EXPECT_GT(compared, 1000);
  // The floor is the one of numerics.h: an all-zero channel gets 1e-12 / 127.
  const Tensor zeros = Tensor::zeros(DType::F32, {2, 3});
  EXPECT_EQ(quant::quantize_weight_per_channel(zeros, 0).scale.data<float>()[0], kWeightAbsmaxFloor / 127.f);
  EXPECT_EQ(weight_scale(0.f), kWeightAbsmaxFloor / static_cast<float>(kWeightQMax));
  EXPECT_EQ(weight_scale(2.54f), 2.54f / 127.f);
}

}  // namespace
}  // namespace tinyqat::test
