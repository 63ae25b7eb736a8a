// The single-input-channel 3×3 path of the integer convolution (qconv.h): depthwise convs and
// single-channel stems read straight from the input rows (qconv_direct3x3.h), no packing.
#include <algorithm>

#include "runtime/int8_speed.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qconv_direct3x3.h"

namespace tinyqat {
namespace {

// The 3×3 fast path compiled like the direct kernel `d` (tests force each variant); by default the
// VNNI build where the CPU has it.
QConvDirect3x3 qconv_direct3x3_for(QConvDirect d) {
  if (!d) {
    if (cpu_has_avx512_vnni()) return qconv_direct3x3_avx512vnni;
    d = qconv_direct();
  }
  if (d == qconv_direct_avx512vnni) return qconv_direct3x3_avx512vnni;
  if (d == qconv_direct_avx512) return qconv_direct3x3_avx512;
  if (d == qconv_direct_avx2) return qconv_direct3x3_avx2;
  return qconv_direct3x3_generic;
}

}  // namespace

void qconv_direct3x3_loop(const QConvArgs& a, const QConvWeights& W, const QConvEpilogue& E,
                          const QConvPlan& P, ThreadPool& pool) {
  const ConvGeometry& g = *a.g;
  const int64_t mg = a.M / a.group, K = g.K(), Pix = g.P(), Cin = g.C * a.group, ysz = a.rq ? 1 : 4;
  const QConvDirect3x3 direct = qconv_direct3x3_for(a.direct);
  const uint8_t flip = a.x_signed ? 0x80 : 0, zx = static_cast<uint8_t>(qconv_zxu(a.x_signed, a.xzp));
  // Work per image: the MACs at about a third of the GEMM path's rate, or the bytes touched.
  const double work_ns =
      std::max(int8_work_ns(3.0 * static_cast<double>(a.M) * Pix * K, MacFamily::DepthwiseConv),
               work::bytes(static_cast<double>(Cin * g.H * g.W + a.M * Pix * ysz)));
  for (int64_t nb = 0; nb < a.N; ++nb)
    pool.parallel_for(a.group * P.row_blocks, {work_ns}, [&](int64_t b, int64_t e, int) {
      // Whole planes (one row block): the part's groups in one call.
      const int64_t step = P.row_blocks == 1 ? e - b : 1;
      for (int64_t it = b; it < e; it += step) {
        const int64_t gi = it / P.row_blocks, rb = it % P.row_blocks, m0 = gi * mg;
        QOut o;
        o.row_add = E.bias.data() + m0;
        if (a.rq) {
          o.row_mult = E.mult.data() + m0;
          o.zp = a.rq->zp, o.qlo = a.rq->qlo, o.qhi = a.rq->qhi, o.out_s8 = a.rq->out_s8;
        }
        void* y = static_cast<uint8_t*>(a.y) + (nb * a.M + m0) * Pix * ysz;
        const int64_t y0 = rb * P.rows_per_item, y1 = std::min(g.OH, y0 + P.rows_per_item);
        direct(g, mg, a.x + (nb * Cin + gi) * g.H * g.W, flip, zx, W.w16.data() + m0 * K, o, y, y0, y1, step);
      }
    });
}

}  // namespace tinyqat
