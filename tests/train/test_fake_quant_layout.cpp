// The trainer's activation ops on the layouts its convolutions give: the fused fake-quant keeps a
// channels-last tensor channels-last and computes the same values and gradients as on NCHW; the clamp of
// Relu / Clip (relu, hardtanh, clamp) gives clamp's values, and 0 gradient outside its bounds and on them.
#include <gtest/gtest.h>

#include <limits>

#include <torch/torch.h>

#include "train/fake_quant.h"

namespace tinyqat::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Forward and input gradient of f on x (laid out as given), for a fixed upstream gradient.
std::pair<torch::Tensor, torch::Tensor> run(const torch::Tensor& x_in, const torch::Tensor& upstream,
                                            const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  auto x = x_in.detach().clone(torch::MemoryFormat::Preserve).requires_grad_(true);
  auto y = f(x);
  y.backward(upstream);
  return {y.detach(), x.grad().detach()};
}

TEST(FakeQuantLayout, ChannelsLastStaysChannelsLastWithTheSameValuesAndGradients) {
  torch::manual_seed(7);
  auto x = torch::randn({3, 16, 9, 11}) * 2;
  auto g = torch::randn({3, 16, 9, 11});
  auto fq = [](const torch::Tensor& t) {
    return train::fake_quant_per_tensor(t, 0.05f, 3, 0, 255, 0.f, 6.f);
  };
  auto [y_nchw, gx_nchw] = run(x, g, fq);
  auto [y_cl, gx_cl] = run(x.contiguous(torch::MemoryFormat::ChannelsLast), g, fq);
  EXPECT_TRUE(y_cl.is_contiguous(torch::MemoryFormat::ChannelsLast)) << "the output was made NCHW";
  EXPECT_TRUE(torch::equal(y_cl, y_nchw));
  EXPECT_TRUE(torch::equal(gx_cl, gx_nchw));
  // The upstream gradient in the other layout than the mask: still matched element by element.
  auto [y2, gx2] = run(x.contiguous(torch::MemoryFormat::ChannelsLast), g.contiguous(), fq);
  EXPECT_TRUE(torch::equal(gx2, gx_nchw));
  EXPECT_GT(gx_nchw.ne(0).sum().item<int64_t>(), 0);
  EXPECT_GT(gx_nchw.eq(0).sum().item<int64_t>(), 0);  // clipped and saturated elements pass no gradient
}

TEST(FakeQuantLayout, ClampBetweenMatchesClampWithZeroGradientOutsideTheBounds) {
  torch::manual_seed(8);
  auto x = torch::randn({2, 4, 5, 6}) * 4;
  const float at_bounds[] = {0.f, 6.f, -1.f, 1.f, 2.f};  // exactly on a bound: the gradient is 0 there
  for (int i = 0; i < 5; ++i) x.view(-1)[i] = at_bounds[i];
  auto g = torch::randn({2, 4, 5, 6});
  const std::pair<float, float> bounds[] = {{0.f, kInf}, {0.f, 6.f}, {-1.f, 1.f}, {-kInf, 2.f}, {1.f, kInf}};
  for (const auto& [a, b] : bounds) {
    auto [y, gx] =
        run(x, g, [a = a, b = b](const torch::Tensor& t) { return train::clamp_between(t, a, b); });
    auto expect = torch::clamp(x, std::isfinite(a) ? c10::optional<at::Scalar>(a) : c10::nullopt,
                               std::isfinite(b) ? c10::optional<at::Scalar>(b) : c10::nullopt);
    EXPECT_TRUE(torch::equal(y, expect)) << a << ", " << b;
    auto inside = (x > a).logical_and(x < b);
    EXPECT_TRUE(torch::equal(gx, torch::where(inside, g, torch::zeros_like(g)))) << a << ", " << b;
  }
}

}  // namespace
}  // namespace tinyqat::test
