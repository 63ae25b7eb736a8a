#include "train/fake_quant.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace tinyqat::train {

namespace {

constexpr int64_t kGrain = 1 << 15;

// Built for AVX-512, AVX2 and baseline x86-64; the loader picks the best the CPU has.
__attribute__((target_clones("avx512f", "avx2", "default"))) void fq_forward(const float* x, float* y,
                                                                             int64_t n, float s, float zp,
                                                                             float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float v = std::nearbyint(x[i] / s) + zp;
    v = std::min(std::max(v, lo), hi);
    y[i] = (v - zp) * s;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void fq_backward(const float* x, const float* g,
                                                                              float* gx, int64_t n, float s,
                                                                              float zp, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(x[i] / s) + zp;
    gx[i] = (v >= lo && v <= hi) ? g[i] : 0.f;
  }
}

class FakeQuant : public torch::autograd::Function<FakeQuant> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in, double scale,
                               int64_t zp, int64_t qmin, int64_t qmax) {
    auto x = x_in.contiguous();
    ctx->save_for_backward({x});
    ctx->saved_data["s"] = scale;
    ctx->saved_data["zp"] = zp;
    ctx->saved_data["qmin"] = qmin;
    ctx->saved_data["qmax"] = qmax;
    auto y = torch::empty_like(x);
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) {
      fq_forward(px + b, py + b, e - b, static_cast<float>(scale), static_cast<float>(zp),
                 static_cast<float>(qmin), static_cast<float>(qmax));
    });
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto x = ctx->get_saved_variables()[0];
    auto g = grads[0].contiguous();
    auto gx = torch::empty_like(x);
    const float s = static_cast<float>(ctx->saved_data["s"].toDouble());
    const float zp = static_cast<float>(ctx->saved_data["zp"].toInt());
    const float lo = static_cast<float>(ctx->saved_data["qmin"].toInt());
    const float hi = static_cast<float>(ctx->saved_data["qmax"].toInt());
    const float* px = x.data_ptr<float>();
    const float* pg = g.data_ptr<float>();
    float* pgx = gx.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) {
      fq_backward(px + b, pg + b, pgx + b, e - b, s, zp, lo, hi);
    });
    return {gx, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fake_quant_per_tensor(const torch::Tensor& x, float scale, int32_t zero_point, int32_t qmin,
                                    int32_t qmax) {
  if (!x.device().is_cpu() || x.scalar_type() != torch::kFloat32)  // CUDA: LibTorch's own kernel
    return torch::fake_quantize_per_tensor_affine(x, scale, zero_point, qmin, qmax);
  return FakeQuant::apply(x, static_cast<double>(scale), static_cast<int64_t>(zero_point),
                          static_cast<int64_t>(qmin), static_cast<int64_t>(qmax));
}

}  // namespace tinyqat::train
