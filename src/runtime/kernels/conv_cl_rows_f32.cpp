// Weight packing, the shapes the channels-last-rows conv takes and its selection per CPU.
#include "runtime/kernels/conv_cl_rows_f32.h"

#include <algorithm>

#include "runtime/kernels/cpu_features.h"

namespace tinyqat {

namespace conv_cl {
Layout layout(const ConvGeometry& g) {
  Layout l;
  l.tiles_w = (g.OW + kPixels - 1) / kPixels * kPixels;
  l.ring_w = ((l.tiles_w - 1) * g.SW + g.KW + 7) / 8 * 8;
  l.out_w = (l.tiles_w + 7) / 8 * 8;
  return l;
}
}  // namespace conv_cl

ConvClWeights conv_cl_pack(const float* w, int64_t M, int64_t C, int64_t KH, int64_t KW, int lanes) {
  ConvClWeights p;
  p.M = M, p.C = C, p.KH = KH, p.KW = KW;
  const int64_t taps = KH * KW * C, block = 2 * lanes;
  p.data.assign(static_cast<size_t>((M + block - 1) / block * block * taps), 0.f);
  for (int64_t b0 = 0; b0 < M; b0 += block) {
    const int64_t width = M - b0 <= lanes ? lanes : block;  // the block's lanes
    float* blk = p.data.data() + b0 * taps;
    for (int64_t m = b0; m < std::min(M, b0 + width); ++m)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t ky = 0; ky < KH; ++ky)
          for (int64_t kx = 0; kx < KW; ++kx)
            blk[((ky * KW + kx) * C + c) * width + (m - b0)] = w[((m * C + c) * KH + ky) * KW + kx];
  }
  return p;
}

bool conv_cl_takes(int64_t M, int64_t C, int64_t KH, int64_t KW, int64_t SW, int64_t DH, int64_t DW) {
  // No dilation (the ring row is read at pixel·SW + kx), a ring of at most kMaxKH rows, 8+ outputs (a
  // lane block).
  return SW >= 1 && SW <= 4 && DW == 1 && DH == 1 && KH >= 1 && KW >= 1 && KH <= conv_cl::kMaxKH && C >= 1 &&
         M >= 8;
}

bool conv_cl_takes_planes(int64_t M, int64_t C, int64_t KH, int64_t KW, int64_t SW, int64_t DH, int64_t DW) {
  // Measured against the GEMM with planes on both sides (docs/benchmarks.md): columns one at a time,
  // some window to share, 2+ inputs (one input channel has its own direct path). A 1×1 conv between
  // planes stays a GEMM that reads the planes in place (the kernel took 0.94–1.9× its time on
  // nr_metric_v1's pointwise convs).
  return conv_cl_takes(M, C, KH, KW, SW, DH, DW) && SW == 1 && KH * KW > 1 && C >= 2;
}

bool conv_cl_applies(const ConvGeometry& g, int64_t M) {
  if (!conv_cl_takes(M, g.C, g.KH, g.KW, g.SW, g.DH, g.DW) || g.PL < 0 || g.PT < 0 || g.OW <= 0 || g.OH <= 0)
    return false;
  const double scratch =
      (g.KH + 2.0) * (static_cast<double>(g.OW) * g.SW + g.KW + 16) * std::max<double>(g.C, 16);
  return scratch <= double(int64_t(1) << 24);
}

int64_t conv_cl_scratch(const ConvGeometry& g) {
  const conv_cl::Layout l = conv_cl::layout(g);
  return (g.KH + 1) * l.ring_w * g.C + 2 * l.out_w * conv_cl::kMaxBlock + 16;
}

ConvClF32 conv_cl_f32() {
  // Measured on AVX2 and AVX-512 CPUs (docs/benchmarks.md); the generic build keeps the GEMM path.
  static const ConvClF32 fn = cpu_isa() == Isa::Avx512 ? conv_cl_f32_avx512
                              : cpu_isa() == Isa::Avx2 ? conv_cl_f32_avx2
                                                       : nullptr;
  return fn;
}

int conv_cl_lanes() {
  return cpu_isa() == Isa::Avx512 ? 16 : 8;
}

}  // namespace tinyqat
