// QLinearAdd (runtime-internal, made by fuse_qdq_for_runtime from DequantizeLinear → Add → QuantizeLinear):
// y = saturate(round_half_even(((a − za)·sa + (b − zb)·sb) / sy) + zy), element-wise, same shapes —
// the residual adds of quantized CNNs without a trip through float tensors.
#include <cmath>

#include "core/numerics.h"
#include "core/target_clones.h"
#include "runtime/kernel.h"

namespace tinyqat {
namespace {

// Round half to even by the float adder (valid for |v| < 2^22, guaranteed by clamping first), so the
// loop vectorises; TQ_TARGET_CLONES builds it for AVX-512 and AVX2 too and picks one at load time.
#define TQ_QADD(NAME, T)                                                                                \
  TQ_TARGET_CLONES void NAME(const T* a, const T* b, T* y, int64_t n, float sa, float za, float sb,     \
                             float zb, float inv_sy, float zy, float lo, float hi) {                    \
    for (int64_t i = 0; i < n; ++i) {                                                                   \
      float v = ((static_cast<float>(a[i]) - za) * sa + (static_cast<float>(b[i]) - zb) * sb) * inv_sy; \
      v = std::min(std::max(v, lo - zy - 1.f), hi - zy + 1.f);                                          \
      v = (v + 12582912.f) - 12582912.f + zy;                                                           \
      y[i] = static_cast<T>(std::min(std::max(v, lo), hi));                                             \
    }                                                                                                   \
  }
TQ_QADD(qadd_u8, uint8_t)
TQ_QADD(qadd_s8, int8_t)
#undef TQ_QADD

float scalar(const Tensor* t) {
  return t ? static_cast<float>(t->scalar_as_double()) : 0.f;
}

}  // namespace

void register_qlinear_binary_ops(KernelRegistry& r) {
  r["QLinearAdd"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor& a = *in[0];
      const Tensor& b = *in[3];
      TQ_CHECK(a.shape() == b.shape(), "{}: inputs {} and {} differ in shape", n.describe(),
               shape_str(a.shape()), shape_str(b.shape()));
      const DType ty = in[7]->dtype();
      TQ_CHECK(
          (a.dtype() == DType::U8 || a.dtype() == DType::I8) && a.dtype() == b.dtype() && a.dtype() == ty,
          "{}: inputs and output must share one 8-bit type", n.describe());
      const float sa = scalar(in[1]), za = scalar(in[2]), sb = scalar(in[4]), zb = scalar(in[5]);
      const float sy = scalar(in[6]), zy = scalar(in[7]);
      const float lo = ty == DType::U8 ? 0.f : -128.f, hi = ty == DType::U8 ? 255.f : 127.f;
      out[0] = Tensor::empty(ty, a.shape());
      const int64_t N = a.numel();
      ctx.pool.parallel_for(
          N, {work::bytes(3.0 * static_cast<double>(N)), 1 << 14}, [&](int64_t s, int64_t e, int) {
            if (ty == DType::U8)
              qadd_u8(a.data<uint8_t>() + s, b.data<uint8_t>() + s, out[0].data<uint8_t>() + s, e - s, sa, za,
                      sb, zb, 1.f / sy, zy, lo, hi);
            else
              qadd_s8(a.data<int8_t>() + s, b.data<int8_t>() + s, out[0].data<int8_t>() + s, e - s, sa, za,
                      sb, zb, 1.f / sy, zy, lo, hi);
          });
    });
  };
}

}  // namespace tinyqat
