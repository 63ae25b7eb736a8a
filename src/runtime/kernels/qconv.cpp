// The integer convolution driver (qconv.h): the epilogue from the constants, the plan for a shape, and
// the call that picks the loop of the plan.
#include "runtime/kernels/qconv.h"

#include <algorithm>

#include "runtime/kernels/qconv_direct3x3.h"
#include "runtime/kernels/qdriver_util.h"

namespace tinyqat {

using qdriver::ceil_div;

QConvEpilogue qconv_epilogue(const QConvWeights& W, int64_t M, int64_t K, int64_t zxu, const int32_t* bias,
                             const QRequant* rq) {
  QConvEpilogue e;
  e.zxu = zxu;
  if (W.direct) {
    // The direct kernels take the input zero point themselves: bias and multiplier per output channel.
    e.bias.assign(static_cast<size_t>(M), 0);
    if (bias) std::copy(bias, bias + M, e.bias.begin());
    if (rq)
      for (int64_t m = 0; m < M; ++m) e.mult.push_back(rq->mult[rq->mult.size() == 1 ? 0 : m]);
    return e;
  }
  const int64_t group = static_cast<int64_t>(W.groups.size()), mg = M / std::max<int64_t>(group, 1);
  for (int64_t gi = 0; gi < group; ++gi)
    e.groups.push_back(qrow_params(W.groups[gi], gi * mg, zxu, K, bias, rq));
  return e;
}

QConvPlan qconv_plan(const QConvArgs& a, const QConvWeights& W, const QGemmKernel& k, int threads) {
  const ConvGeometry& g = *a.g;
  QConvPlan p;
  if (W.direct && qconv_direct3x3_fits(g)) {
    // Work items are whole output planes of one group, split in row blocks only to give every thread work.
    p.path = QConvPlan::Path::Direct3x3;
    const int64_t blocks = conv_row_blocks(threads, a.group, g.OH);
    p.rows_per_item = ceil_div(g.OH, blocks);
    p.row_blocks = ceil_div(g.OH, p.rows_per_item);
    return p;
  }
  if (W.direct) {
    // The whole image as kc = 1 planes (all input channels); work items are blocks of output rows of
    // one group.
    p.path = QConvPlan::Path::DirectPlanes;
    ConvGeometry ga = g;
    ga.C = g.C * a.group;
    p.L = qconv_layout(ga, 1, 16, a.x_signed, a.xzp);
    p.Lg = p.L;
    p.Lg.g.C = g.C;
    p.rows_per_item = std::clamp<int64_t>(4096 / std::max<int64_t>(g.OW, 1), 1, g.OH);
    p.row_blocks = ceil_div(g.OH, p.rows_per_item);
    return p;
  }
  p.path = QConvPlan::Path::Gemm;
  p.L = qconv_layout(g, k.kc, k.nr, a.x_signed, a.xzp);
  p.offsets = qconv_offsets(p.L);
  p.tiles_per_row = p.L.flat ? 0 : ceil_div(g.OW, k.nr);
  p.n_tiles = p.L.flat ? ceil_div(g.P(), k.nr) : g.OH * p.tiles_per_row;
  p.panels = ceil_div(a.M / a.group, k.mr);
  return p;
}

void qconv(const QConvArgs& a, ThreadPool& pool) {
  const QGemmKernel& k = a.kernel ? *a.kernel : qgemm_kernel();
  const ConvGeometry& g = *a.g;
  QConvWeights local_w;
  const QConvWeights* W = a.packed;
  const bool brought = W && W->kernel == &k;  // epilogue and plan of the caller are for these weights
  if (!brought) {
    local_w = qpack_conv_weights(k, a.w, a.w_signed, a.M, g.C, g.KH, g.KW, a.group, a.wzp);
    W = &local_w;
  }
  const int64_t zxu = qconv_zxu(a.x_signed, a.xzp);
  QConvEpilogue local_e;
  const QConvEpilogue* E = a.epilogue;
  if (!brought || !E || (!W->direct && E->zxu != zxu)) {
    local_e = qconv_epilogue(*W, a.M, g.K(), zxu, a.bias, a.rq);
    E = &local_e;
  }
  QConvPlan local_p;
  const QConvPlan* P = a.plan;
  if (!brought || !P) {
    local_p = qconv_plan(a, *W, k, pool.size());
    P = &local_p;
  }
  switch (P->path) {
    case QConvPlan::Path::Direct3x3:
      return qconv_direct3x3_loop(a, *W, *E, *P, pool);
    case QConvPlan::Path::DirectPlanes:
      return qconv_direct_loop(a, *W, *E, *P, pool);
    case QConvPlan::Path::Gemm:
      return qconv_gemm_loop(a, *W, *E, *P, k, pool);
  }
}

}  // namespace tinyqat
