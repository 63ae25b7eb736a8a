// The direct path of the integer convolution (qconv.h) for depthwise and other tiny per-group problems
// that are not single-channel 3×3: the whole image as padded kc = 1 planes, then blocks of output rows
// of one group through the direct kernel (QConvDirect, per ISA).
#include <algorithm>

#include "runtime/int8_speed.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qdriver_util.h"

namespace tinyqat {

void qconv_direct_loop(const QConvArgs& a, const QConvWeights& W, const QConvEpilogue& E, const QConvPlan& P,
                       ThreadPool& pool) {
  const ConvGeometry& g = *a.g;
  const int64_t mg = a.M / a.group, K = g.K(), Pix = g.P(), Cin = g.C * a.group, ysz = a.rq ? 1 : 4;
  // The plan's layouts with this call's input zero point.
  QConvLayout L = P.L, Lg = P.Lg;
  L.flip = Lg.flip = a.x_signed ? 0x80 : 0;
  L.zx = Lg.zx = static_cast<uint8_t>(qconv_zxu(a.x_signed, a.xzp));
  Tensor buf = qdriver::conv_scratch(L);
  uint8_t* xp = buf.data<uint8_t>();
  const QPackX pack = qgemm_kernel_generic().pack_x;
  const QConvDirect direct = a.direct ? a.direct : qconv_direct();
  // Work per image: packing moves the padded planes; the direct kernel runs its MACs at about a third
  // of the GEMM path's rate.
  const double pack_ns = work::bytes(2.0 * static_cast<double>(buf.numel()));
  const double run_ns =
      std::max(int8_work_ns(3.0 * static_cast<double>(a.M) * Pix * K, MacFamily::DepthwiseConv),
               work::bytes(static_cast<double>(a.M * Pix * ysz)));
  for (int64_t nb = 0; nb < a.N; ++nb) {
    const uint8_t* x = a.x + nb * Cin * g.H * g.W;
    pool.parallel_for(L.C4 * L.Hp, {pack_ns, 16}, [&](int64_t b, int64_t e, int) { pack(L, x, b, e, xp); });
    pool.parallel_for(a.group * P.row_blocks, {run_ns}, [&](int64_t b, int64_t e, int) {
      for (int64_t it = b; it < e; ++it) {
        const int64_t gi = it / P.row_blocks, rb = it % P.row_blocks;
        const int64_t m0 = gi * mg;
        QOut o;
        o.row_add = E.bias.data() + m0;
        if (a.rq) {
          o.row_mult = E.mult.data() + m0;
          o.zp = a.rq->zp, o.qlo = a.rq->qlo, o.qhi = a.rq->qhi, o.out_s8 = a.rq->out_s8;
        }
        void* y = static_cast<uint8_t*>(a.y) + (nb * a.M + m0) * Pix * ysz;
        const int64_t y0 = rb * P.rows_per_item, y1 = std::min(g.OH, y0 + P.rows_per_item);
        direct(Lg, mg, xp + gi * g.C * L.plane, W.w16.data() + m0 * K, o, y, y0, y1);
      }
    });
  }
}

}  // namespace tinyqat
