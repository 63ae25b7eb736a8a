#include "train/fake_quant.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/numerics.h"
#include "core/target_clones.h"

namespace tinyqat::train {

namespace {

constexpr int64_t kGrain = 1 << 15;

struct Params {
  float s, zp, qlo, qhi, a, b;
};

// Built for AVX-512, AVX2 and baseline x86-64; the loader picks the best the CPU has.
TQ_TARGET_CLONES void fq_forward(const float* x, float* y, uint8_t* pass, int64_t n, Params p) {
  for (int64_t i = 0; i < n; ++i) {
    const float c = std::min(std::max(x[i], p.a), p.b);
    const float v = std::nearbyint(c / p.s) + p.zp;
    const float q = std::min(std::max(v, p.qlo), p.qhi);
    y[i] = (q - p.zp) * p.s;
    pass[i] = (x[i] > p.a) & (x[i] < p.b) & (v >= p.qlo) & (v <= p.qhi);
  }
}

TQ_TARGET_CLONES void fq_backward(const uint8_t* pass, const float* g, float* gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gx[i] = pass[i] ? g[i] : 0.f;
}

class FakeQuant : public torch::autograd::Function<FakeQuant> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in, double scale,
                               int64_t zp, int64_t qmin, int64_t qmax, double a, double b) {
    // Elementwise over the memory as it lies (channels-last stays channels-last): y and the mask take x's
    // strides, and backward lays the gradient out like the mask.
    auto x = x_in.contiguous(x_in.suggest_memory_format());
    auto y = torch::empty_like(x);
    auto pass = torch::empty_like(x, x.options().dtype(torch::kUInt8));
    const Params p{static_cast<float>(scale), static_cast<float>(zp), static_cast<float>(qmin),
                   static_cast<float>(qmax),  static_cast<float>(a),  static_cast<float>(b)};
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    uint8_t* pm = pass.data_ptr<uint8_t>();
    at::parallel_for(0, x.numel(), kGrain,
                     [&](int64_t lo, int64_t hi) { fq_forward(px + lo, py + lo, pm + lo, hi - lo, p); });
    ctx->save_for_backward({pass});
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto pass = ctx->get_saved_variables()[0];
    auto g = grads[0].contiguous(pass.suggest_memory_format());
    auto gx = torch::empty_like(g);
    const uint8_t* pm = pass.data_ptr<uint8_t>();
    const float* pg = g.data_ptr<float>();
    float* pgx = gx.data_ptr<float>();
    at::parallel_for(0, g.numel(), kGrain,
                     [&](int64_t lo, int64_t hi) { fq_backward(pm + lo, pg + lo, pgx + lo, hi - lo); });
    return {gx,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor clamp_between(const torch::Tensor& x, float a, float b) {
  if (!std::isfinite(a) && !std::isfinite(b)) return x;
  // relu and hardtanh differentiate in one fused kernel (threshold_backward, hardtanh_backward); clamp's
  // backward is two comparisons, a logical and and a where over the whole activation (3.5x the time of
  // relu's on a 16x16x64x64 tensor). The gradient is 0 on a bound, as in the fused fake-quant's mask and
  // PyTorch's nn.ReLU / ReLU6; an infinite bound is no bound. LibTorch 1.13 has no CPU hardtanh backward
  // for bf16 (the autocast fp32 phase), so other dtypes take clamp.
  const bool fused_grad = x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kFloat64;
  if (fused_grad && a == 0 && !std::isfinite(b)) return torch::relu(x);
  if (fused_grad && a <= b) return torch::hardtanh(x, a, b);
  return torch::clamp(x, std::isfinite(a) ? c10::optional<at::Scalar>(a) : c10::nullopt,
                      std::isfinite(b) ? c10::optional<at::Scalar>(b) : c10::nullopt);
}

torch::Tensor fake_quant_per_tensor(const torch::Tensor& x, float scale, int32_t zero_point, int32_t qmin,
                                    int32_t qmax, float clamp_lo, float clamp_hi) {
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32)  // CUDA: LibTorch's own ops
    return torch::fake_quantize_per_tensor_affine(clamp_between(x, clamp_lo, clamp_hi), scale, zero_point,
                                                  qmin, qmax);
  return FakeQuant::apply(x, static_cast<double>(scale), static_cast<int64_t>(zero_point),
                          static_cast<int64_t>(qmin), static_cast<int64_t>(qmax),
                          static_cast<double>(clamp_lo), static_cast<double>(clamp_hi));
}

torch::Tensor weight_scale_per_channel(const torch::Tensor& w, int64_t axis) {
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < w.dim(); ++d)
    if (d != axis) dims.push_back(d);
  auto absmax = dims.empty() ? w.detach().abs() : w.detach().abs().amax(dims);
  return absmax.clamp_min(kWeightAbsmaxFloor) / static_cast<float>(kWeightQMax);
}

}  // namespace tinyqat::train
