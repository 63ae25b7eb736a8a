// The GEMM path of the integer convolution (qconv.h): per image group, the k-interleaved padded planes
// (QConvLayout) are packed once and read in place by the micro-kernel's tiles — MR output channels ×
// NR output pixels, one tap offset per k-group — with the requantisation in the micro-kernel's epilogue.
#include <algorithm>

#include "runtime/int8_speed.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qdriver_util.h"

namespace tinyqat {

void qconv_gemm_loop(const QConvArgs& a, const QConvWeights& W, const QConvEpilogue& E, const QConvPlan& P,
                     const QGemmKernel& k, ThreadPool& pool) {
  const ConvGeometry& g = *a.g;
  const int64_t mg = a.M / a.group, Pix = g.P(), Cin = g.C * a.group, ysz = a.rq ? 1 : 4;
  QConvLayout L = P.L;  // the plan's layout with this call's input zero point
  L.flip = a.x_signed ? 0x80 : 0;
  L.zx = static_cast<uint8_t>(qconv_zxu(a.x_signed, a.xzp));
  Tensor buf = qdriver::conv_scratch(L);
  uint8_t* xp = buf.data<uint8_t>();
  const int64_t* off = P.offsets.data();
  // Work per image group: packing moves the padded planes, the tiles run mg × Pix × K MACs.
  const double pack_ns = work::bytes(2.0 * static_cast<double>(buf.numel()));
  const double run_ns = std::max(int8_work_ns(static_cast<double>(mg) * Pix * g.K(), MacFamily::DenseConv),
                                 work::bytes(static_cast<double>(mg * Pix * ysz)));
  for (int64_t nb = 0; nb < a.N; ++nb)
    for (int64_t gi = 0; gi < a.group; ++gi) {
      const QPackedWeights& pw = W.groups[gi];
      const QRowParams& rp = E.groups[gi];
      const uint8_t* x = a.x + (nb * Cin + gi * g.C) * g.H * g.W;
      // Split by padded rows (all channel groups of a row in one part), as the tiles below split by
      // output rows: each thread then mostly reads rows it packed itself, from its own core's cache.
      pool.parallel_for(L.Hp, {pack_ns, 4}, [&](int64_t b, int64_t e, int) {
        for (int64_t c4 = 0; c4 < L.C4; ++c4) k.pack_x(L, x, c4 * L.Hp + b, c4 * L.Hp + e, xp);
      });
      uint8_t* y = static_cast<uint8_t*>(a.y) + (nb * a.M + gi * mg) * Pix * ysz;
      pool.parallel_for(P.n_tiles, {run_ns}, [&](int64_t b, int64_t e, int) {
        for (int64_t t = b; t < e; ++t) {
          int64_t p0, origin;
          int nr;
          if (L.flat) {
            p0 = t * k.nr;
            nr = static_cast<int>(std::min<int64_t>(k.nr, Pix - p0));
            origin = p0 * L.kc;
          } else {
            const int64_t oy = t / P.tiles_per_row, ox0 = (t % P.tiles_per_row) * k.nr;
            p0 = oy * g.OW + ox0;
            nr = static_cast<int>(std::min<int64_t>(k.nr, g.OW - ox0));
            origin = (oy * g.SH * g.SW * L.Wq + ox0) * L.kc;
          }
          for (int64_t p = 0; p < P.panels; ++p) {
            const int64_t i0 = p * k.mr;
            const int mr = static_cast<int>(std::min<int64_t>(k.mr, mg - i0));
            const QOut o = qout_for(rp, pw, a.rq, i0);
            k.for_rows(mr, pw.any_zw)(pw.kgroups, pw.panel(p), xp + origin, off, y + (i0 * Pix + p0) * ysz,
                                      Pix, 1, mr, nr, o);
          }
        }
      });
    }
}

}  // namespace tinyqat
