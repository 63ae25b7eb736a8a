// Drivers of the int8 kernels (qgemm.h): kernel choice, weight packing, the epilogue rows, and the matmul
// loop around the micro-kernels (the convolution's are in qconv_*.cpp).
#include "runtime/kernels/qgemm.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/tensor.h"
#include "runtime/int8_speed.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/qdriver_util.h"

namespace tinyqat {

const QGemmKernel& qgemm_kernel() {
  static const QGemmKernel& k = []() -> const QGemmKernel& {
    if (cpu_has_avx512_vnni()) return qgemm_kernel_avx512vnni();
    switch (cpu_isa()) {
      case Isa::Avx512:
        return qgemm_kernel_avx512();
      case Isa::Avx2:
        return qgemm_kernel_avx2();
      default:
        return qgemm_kernel_generic();
    }
  }();
  return k;
}

std::vector<const QGemmKernel*> qgemm_kernels_all() {
  return {&qgemm_kernel_generic(), &qgemm_kernel_avx2(), &qgemm_kernel_avx512(), &qgemm_kernel_avx512vnni()};
}

QConvDirect qconv_direct() {
  static const QConvDirect fn = cpu_isa() == Isa::Avx512 ? qconv_direct_avx512
                                : cpu_isa() == Isa::Avx2 ? qconv_direct_avx2
                                                         : qconv_direct_generic;
  return fn;
}

const QElementwise& qelementwise() {
  static const QElementwise& e = cpu_isa() == Isa::Avx512 ? qelementwise_avx512
                                 : cpu_isa() == Isa::Avx2 ? qelementwise_avx2
                                                          : qelementwise_generic;
  return e;
}

using qdriver::ceil_div;
using qdriver::scratch_bytes;

namespace {

// Wrapping int32 arithmetic (the kernels wrap too; the exact result fits in int32).
int32_t wrap(int64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}

// Packs w̃ (int16, [M][C·KH·KW], signed range) into panels for `k`.
QPackedWeights pack_core(const QGemmKernel& k, const int16_t* wt, int64_t M, int64_t C, int64_t KH,
                         int64_t KW, const std::vector<int32_t>& zw) {
  QPackedWeights p;
  p.kernel = &k;
  p.M = M, p.C = C, p.KH = KH, p.KW = KW, p.mr = k.mr;
  const int kc = k.kc;
  const int64_t C4 = ceil_div(C, kc), K = C * KH * KW;
  p.kgroups = C4 * KH * KW;
  p.panel_bytes = p.kgroups * k.mr * kc * k.w_bytes;
  const int64_t panels = ceil_div(M, k.mr);
  p.data.assign(static_cast<size_t>(panels * p.panel_bytes), 0);
  p.wsum.assign(static_cast<size_t>(M), 0);
  p.zw = zw;
  for (int64_t m = 0; m < M; ++m) {
    uint8_t* panel = p.data.data() + (m / k.mr) * p.panel_bytes;
    const int64_t i = m % k.mr;
    int64_t sum = 0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ky = 0; ky < KH; ++ky)
        for (int64_t kx = 0; kx < KW; ++kx) {
          const int16_t v = wt[m * K + (c * KH + ky) * KW + kx];
          sum += v;
          const int64_t g = ((c / kc) * KH + ky) * KW + kx, t = c % kc;
          uint8_t* dst = panel + ((g * k.mr + i) * kc + t) * k.w_bytes;
          if (k.w_bytes == 1) {
            const int8_t b = static_cast<int8_t>(v);
            std::memcpy(dst, &b, 1);
          } else if (k.w_bytes == 2) {
            std::memcpy(dst, &v, 2);
          } else {
            const int32_t b = v;
            std::memcpy(dst, &b, 4);
          }
        }
    p.wsum[m] = static_cast<int32_t>(sum);
    p.any_zw = p.any_zw || zw[m] != 0;
  }
  return p;
}

// w̃ zero point per output channel: uint8 weights are shifted by −128 like their values.
std::vector<int32_t> shifted_zw(const std::vector<int32_t>& wzp, int64_t M, bool w_signed) {
  TQ_CHECK(wzp.empty() || wzp.size() == 1 || static_cast<int64_t>(wzp.size()) == M,
           "weight zero point must have 1 or {} values", M);
  std::vector<int32_t> zw(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m)
    zw[m] = (wzp.empty() ? 0 : wzp[wzp.size() == 1 ? 0 : m]) - (w_signed ? 0 : 128);
  return zw;
}

int16_t wtilde(const void* w, bool w_signed, int64_t i) {
  return w_signed ? static_cast<int16_t>(static_cast<const int8_t*>(w)[i])
                  : static_cast<int16_t>(static_cast<const uint8_t*>(w)[i] - 128);
}

}  // namespace

QRowParams qrow_params(const QPackedWeights& pw, int64_t m0, int64_t zxu, int64_t K, const int32_t* bias,
                       const QRequant* rq) {
  const int64_t M = pw.M, padded = ceil_div(M, pw.mr) * pw.mr;
  QRowParams r;
  r.zxu = zxu;
  r.add.assign(static_cast<size_t>(padded), 0);
  r.zw.assign(static_cast<size_t>(padded), 0);
  if (rq) r.mult.assign(static_cast<size_t>(padded), 0.f);
  for (int64_t m = 0; m < M; ++m) {
    const int64_t zw = pw.zw[m];
    r.add[m] = wrap((bias ? int64_t(bias[m0 + m]) : 0) - zxu * pw.wsum[m] + K * zxu * zw);
    r.zw[m] = static_cast<int32_t>(zw);
    if (rq) r.mult[m] = rq->mult[rq->mult.size() == 1 ? 0 : m0 + m];
  }
  return r;
}

QOut qout_for(const QRowParams& rp, const QPackedWeights& pw, const QRequant* rq, int64_t i0) {
  QOut o;
  o.row_add = rp.add.data() + i0;
  o.row_zw = pw.any_zw ? rp.zw.data() + i0 : nullptr;
  if (rq) {
    o.row_mult = rp.mult.data() + i0;
    o.zp = rq->zp, o.qlo = rq->qlo, o.qhi = rq->qhi, o.out_s8 = rq->out_s8;
  }
  return o;
}

QConvLayout qconv_layout(const ConvGeometry& g, int kc, int nr, bool x_signed, int32_t x_zero_point) {
  QConvLayout L;
  L.g = g;
  L.kc = kc;
  L.nr = nr;
  L.C4 = ceil_div(g.C, kc);
  L.Hp = std::max(g.PT + g.H, (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1);
  const int64_t Wp = std::max(g.PL + g.W, (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1);
  L.Wq = ceil_div(Wp, g.SW);
  L.plane = L.Hp * g.SW * L.Wq * kc;
  L.bytes = L.C4 * L.plane + (nr + 16) * kc + 64;
  L.flat = g.SH == 1 && g.SW == 1 && L.Wq == g.OW;
  L.flip = x_signed ? 0x80 : 0;
  L.zx = static_cast<uint8_t>(x_zero_point + (x_signed ? 128 : 0));
  return L;
}

std::vector<int64_t> qconv_offsets(const QConvLayout& L) {
  const ConvGeometry& g = L.g;
  std::vector<int64_t> off;
  off.reserve(static_cast<size_t>(L.C4 * g.KH * g.KW));
  for (int64_t c4 = 0; c4 < L.C4; ++c4)
    for (int64_t ky = 0; ky < g.KH; ++ky)
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        const int64_t px = (kx * g.DW) % g.SW, xq = (kx * g.DW) / g.SW;
        off.push_back(c4 * L.plane + ((ky * g.DH * g.SW + px) * L.Wq + xq) * L.kc);
      }
  return off;
}

QPackedWeights qpack_weights(const QGemmKernel& k, const void* w, bool w_signed, int64_t M, int64_t C,
                             int64_t KH, int64_t KW, int64_t ldw, const std::vector<int32_t>& wzp) {
  const int64_t K = C * KH * KW;
  std::vector<int16_t> wt(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < K; ++i) wt[m * K + i] = wtilde(w, w_signed, m * ldw + i);
  return pack_core(k, wt.data(), M, C, KH, KW, shifted_zw(wzp, M, w_signed));
}

QPackedWeights qpack_matmul_b(const QGemmKernel& k, const void* b, bool b_signed, int64_t K, int64_t N,
                              const std::vector<int32_t>& bzp) {
  std::vector<int16_t> wt(static_cast<size_t>(N * K));
  for (int64_t kk = 0; kk < K; ++kk)
    for (int64_t n = 0; n < N; ++n) wt[n * K + kk] = wtilde(b, b_signed, kk * N + n);
  return pack_core(k, wt.data(), N, K, 1, 1, shifted_zw(bzp, N, b_signed));
}

bool qconv_runs_direct(int64_t C_per_group, int64_t mg) {
  return C_per_group * mg <= 4;
}

QConvWeights qpack_conv_weights(const QGemmKernel& k, const void* w, bool w_signed, int64_t M, int64_t C,
                                int64_t KH, int64_t KW, int64_t group, const std::vector<int32_t>& wzp,
                                bool allow_direct) {
  QConvWeights r;
  const int64_t mg = M / group, K = C * KH * KW;
  r.kernel = &k;
  // Single-channel 3×3 convs (stems) too: their GEMM would fill one k slot of four (kc 4) and pack a
  // strided input byte by byte; the direct kernel's 3×3 path reads the input rows once for all outputs.
  r.direct = allow_direct && (qconv_runs_direct(C, mg) || (C == 1 && KH == 3 && KW == 3));
  if (r.direct) {
    const std::vector<int32_t> zw = shifted_zw(wzp, M, w_signed);
    r.w16.resize(static_cast<size_t>(M * K));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < K; ++i)
        r.w16[m * K + i] = static_cast<int16_t>(wtilde(w, w_signed, m * K + i) - zw[m]);
    return r;
  }
  for (int64_t gi = 0; gi < group; ++gi) {
    std::vector<int32_t> zg;
    if (wzp.size() <= 1)
      zg = wzp;
    else
      zg.assign(wzp.begin() + gi * mg, wzp.begin() + (gi + 1) * mg);
    const size_t esz = 1;
    r.groups.push_back(
        qpack_weights(k, static_cast<const uint8_t*>(w) + gi * mg * K * esz, w_signed, mg, C, KH, KW, K, zg));
  }
  return r;
}

void qmatmul(const QMatMulArgs& a, ThreadPool& pool) {
  const QGemmKernel& k = a.kernel ? *a.kernel : qgemm_kernel();
  QPackedWeights local;
  const QPackedWeights* W = a.packed;
  if (!W || W->kernel != &k) {
    local = qpack_matmul_b(k, a.b, a.b_signed, a.K, a.N, a.bzp);
    W = &local;
  }
  // Aᵀ packed as k-groups of columns: [g][M + slack][kc], unsigned, k past K reads 0.
  const int kc = k.kc;
  const int64_t K4 = ceil_div(a.K, kc), Ms = a.M + k.nr;
  Tensor buf = scratch_bytes(K4 * Ms * kc + 64);
  uint8_t* ap = buf.data<uint8_t>();
  const uint8_t flip = a.a_signed ? 0x80 : 0;
  const double pack_ns = work::bytes(2.0 * static_cast<double>(K4 * Ms * kc));
  constexpr int64_t kRowBlock = 64;  // rows per part: whole 16-row blocks of the vector packer
  pool.parallel_for(ceil_div(a.M, kRowBlock), {pack_ns}, [&](int64_t b, int64_t e, int) {
    k.pack_a(a.a, a.K, b * kRowBlock, std::min(a.M, e * kRowBlock), flip, Ms, ap);
  });
  for (int64_t g4 = 0; g4 < K4; ++g4)  // the slack rows the last tile reads
    std::memset(ap + g4 * Ms * kc + a.M * kc, 0, static_cast<size_t>((Ms - a.M) * kc));
  std::vector<int64_t> off(static_cast<size_t>(K4));
  for (int64_t g4 = 0; g4 < K4; ++g4) off[g4] = g4 * Ms * kc;
  const int64_t zxu = a.azp + (a.a_signed ? 128 : 0);
  QRowParams local_rows;
  const QRowParams* rows = a.rows;
  if (!rows || rows->zxu != zxu || W != a.packed) {
    local_rows = qrow_params(*W, 0, zxu, a.K, a.bias, a.rq);
    rows = &local_rows;
  }
  const QRowParams& rp = *rows;
  const int64_t ysz = a.rq ? 1 : 4;
  const int64_t n_tiles = ceil_div(a.M, k.nr), panels = ceil_div(a.N, k.mr);
  // Cᵀ: rows are B's columns (output features), columns are A's rows.
  const double run_ns = std::max(int8_work_ns(static_cast<double>(a.M) * a.N * a.K, MacFamily::Gemm),
                                 work::bytes(static_cast<double>(a.M * a.N * ysz)));
  pool.parallel_for(n_tiles * panels, {run_ns}, [&](int64_t b, int64_t e, int) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t t = it / panels, p = it % panels;
      const int64_t j0 = t * k.nr, i0 = p * k.mr;
      const int nr = static_cast<int>(std::min<int64_t>(k.nr, a.M - j0));
      const int mr = static_cast<int>(std::min<int64_t>(k.mr, a.N - i0));
      const QOut o = qout_for(rp, *W, a.rq, i0);
      k.for_rows(mr, W->any_zw)(W->kgroups, W->panel(p), ap + j0 * kc, off.data(),
                                static_cast<uint8_t*>(a.y) + (j0 * a.N + i0) * ysz, 1, a.N, mr, nr, o);
    }
  });
}

}  // namespace tinyqat
