// Direct convolution of one output plane, accumulated kernel tap by kernel tap so that the inner loop
// runs over a contiguous (stride 1) or strided row of outputs without bounds checks. Used where a
// GEMM would waste its register tile: depthwise convs and convs with very few output channels.
#include <algorithm>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

void conv_direct_f32(const ConvGeometry& g, const float* x, const float* w, float bias, float* y, bool accumulate,
                     float lo, float hi) {
  for (int64_t oy = 0; oy < g.OH; ++oy) {
    float* yr = y + oy * g.OW;
    if (accumulate) {
      for (int64_t ox = 0; ox < g.OW; ++ox) yr[ox] += bias;
    } else {
      std::fill(yr, yr + g.OW, bias);
    }
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t ky = 0; ky < g.KH; ++ky) {
        const int64_t iy = oy * g.SH - g.PT + ky * g.DH;
        if (iy < 0 || iy >= g.H) continue;
        const float* xr = x + (c * g.H + iy) * g.W;
        const float* wr = w + (c * g.KH + ky) * g.KW;
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const float wv = wr[kx];
          const int64_t ix0 = kx * g.DW - g.PL;
          int64_t lo_o = ix0 >= 0 ? 0 : (-ix0 + g.SW - 1) / g.SW;
          int64_t hi_o = ix0 >= g.W ? 0 : (g.W - ix0 + g.SW - 1) / g.SW;
          lo_o = std::min(lo_o, g.OW);
          hi_o = std::clamp(hi_o, lo_o, g.OW);
          if (g.SW == 1) {
            const float* xs = xr + ix0;
            for (int64_t ox = lo_o; ox < hi_o; ++ox) yr[ox] += wv * xs[ox];
          } else {
            for (int64_t ox = lo_o; ox < hi_o; ++ox) yr[ox] += wv * xr[ox * g.SW + ix0];
          }
        }
      }
    for (int64_t ox = 0; ox < g.OW; ++ox) yr[ox] = std::min(std::max(yr[ox], lo), hi);
  }
}

}  // namespace tinyqat
