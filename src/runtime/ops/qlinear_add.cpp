// QLinearAdd (runtime-internal, made by fuse_qdq_for_runtime from DequantizeLinear → Add → QuantizeLinear):
// y = saturate(round_half_even(((a − za)·sa + (b − zb)·sb) / sy) + zy), element-wise, same shapes —
// the residual adds of quantized CNNs without a trip through float tensors. The loop is the per-ISA
// QElementwise::add (kernels/qquant.inc), numerics.h qlinear_add_value's bits on every path.
#include <cmath>

#include "core/numerics.h"
#include "runtime/kernel.h"
#include "runtime/kernels/qgemm.h"

namespace tinyqat {
namespace {

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
      QAddParams p;
      p.sa = scalar(in[1]), p.sb = scalar(in[4]), p.inv_sy = 1.f / scalar(in[6]);
      p.za = static_cast<int32_t>(scalar(in[2])), p.zb = static_cast<int32_t>(scalar(in[5]));
      p.zy = static_cast<int32_t>(scalar(in[7]));
      const bool s8 = ty == DType::I8;
      p.qmin = s8 ? -128 : 0, p.qmax = s8 ? 127 : 255;
      out[0] = Tensor::empty(ty, a.shape());
      const int64_t N = a.numel();
      const QElementwise& ew = qelementwise();
      const uint8_t *pa = static_cast<const uint8_t*>(a.raw()), *pb = static_cast<const uint8_t*>(b.raw());
      uint8_t* py = static_cast<uint8_t*>(out[0].raw());
      ctx.pool.parallel_for(N, {work::bytes(3.0 * static_cast<double>(N)), 1 << 14},
                            [&](int64_t s, int64_t e, int) { ew.add(pa + s, pb + s, s8, e - s, p, py + s); });
    });
  };
}

}  // namespace tinyqat
