// Tile-shape exploration for the VNNI micro-kernel: the runtime's ukernel template
// (src/runtime/kernels/qgemm_ukernel.inc) instantiated at other MR × NR, run through the runtime's
// qconv() driver; plus the time of the activation packing alone.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qgemm.h"

namespace tinyqat::tiles {
#define QG_KC 4
#include "runtime/kernels/qgemm_ukernel.inc"
}  // namespace tinyqat::tiles

using namespace tinyqat;

template <int MR, int NV>
QGemmKernel make(const char* name) {
  return {name,         MR, NV * 16, 4, 1, tiles::ukernel<MR, NV, false>, tiles::ukernel<MR, NV, true>,
          tiles::pack_x};
}

int main(int argc, char** argv) {
  ThreadPool pool(1);
  const QGemmKernel ks[] = {make<8, 2>("8x32c4"), make<16, 1>("16x16c4"), make<8, 3>("8x48c4"),
                            make<4, 4>("4x64c4"), make<6, 4>("6x64c4"),   make<12, 2>("12x32c4"),
                            make<4, 2>("4x32c4"), make<8, 1>("8x16c4")};
  for (const Shape& s : kShapes) {
    ConvGeometry g;
    g.C = s.C, g.H = s.H, g.W = s.W, g.KH = g.KW = s.K, g.PT = g.PL = s.pad, g.OH = s.H, g.OW = s.W;
    auto x = lcg_bytes(size_t(s.C) * s.H * s.W, 1, 0, 255);
    auto w = lcg_bytes(size_t(s.M) * s.C * s.K * s.K, 2, 0, 254);
    std::vector<uint8_t> y(size_t(s.M) * s.H * s.W);
    QRequant rq;
    rq.mult.assign(s.M, 0.0009f);
    for (const QGemmKernel& k : ks) {
      QConvWeights pw = qpack_conv_weights(k, w.data(), true, s.M, s.C, s.K, s.K, 1, {0});
      QConvArgs a;
      a.kernel = &k, a.g = &g, a.M = s.M, a.x = x.data(), a.w = w.data(), a.wzp = {0}, a.packed = &pw;
      a.rq = &rq, a.y = y.data();
      report(k.name, s, time_ms([&] { qconv(a, pool); }, argc > 1 ? std::atoi(argv[1]) : 50));
    }
    QConvLayout L = qconv_layout(g, 4, 32, false, 0);
    std::vector<uint8_t> buf(L.bytes);
    double ms = time_ms([&] { tiles::pack_x(L, x.data(), 0, L.C4 * L.Hp, buf.data()); });
    std::printf("| pack_x only | %s | %.3f | | |\n", s.name, ms);
  }
}
