// im2col straight into GEMM strip layout. Output pixels of one strip are split into runs that stay on
// one output row, so that each (c, ky, kx) row of the strip is a strided copy plus zero padding.
#include <algorithm>
#include <cstring>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

template <typename T>
void im2col_pack(const ConvGeometry& g, const T* x, int64_t p0, int64_t cols, int width, T* out,
                 T pad_value) {
  const int64_t K = g.K();
  if (cols < width)
    for (int64_t k = 0; k < K; ++k) std::fill(out + k * width + cols, out + (k + 1) * width, pad_value);
  int64_t j = 0;
  while (j < cols) {
    const int64_t p = p0 + j;
    const int64_t oy = p / g.OW, ox0 = p % g.OW;
    const int64_t run = std::min<int64_t>(cols - j, g.OW - ox0);
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t ky = 0; ky < g.KH; ++ky) {
        const int64_t iy = oy * g.SH - g.PT + ky * g.DH;
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          T* o = out + ((c * g.KH + ky) * g.KW + kx) * width + j;
          if (iy < 0 || iy >= g.H) {
            std::fill(o, o + run, pad_value);
            continue;
          }
          const T* xr = x + (c * g.H + iy) * g.W;
          const int64_t ix0 = ox0 * g.SW - g.PL + kx * g.DW;  // input column of the run's first pixel
          // Valid r: 0 <= ix0 + r*SW < W.
          int64_t lo = ix0 >= 0 ? 0 : (-ix0 + g.SW - 1) / g.SW;
          int64_t hi = ix0 >= g.W ? 0 : (g.W - ix0 + g.SW - 1) / g.SW;
          lo = std::min(lo, run);
          hi = std::clamp(hi, lo, run);
          std::fill(o, o + lo, pad_value);
          if (g.SW == 1) {
            std::memcpy(o + lo, xr + ix0 + lo, (hi - lo) * sizeof(T));
          } else {
            for (int64_t r = lo; r < hi; ++r) o[r] = xr[ix0 + r * g.SW];
          }
          std::fill(o + hi, o + run, pad_value);
        }
      }
    j += run;
  }
}

template void im2col_pack<float>(const ConvGeometry&, const float*, int64_t, int64_t, int, float*, float);
template void im2col_pack<uint8_t>(const ConvGeometry&, const uint8_t*, int64_t, int64_t, int, uint8_t*,
                                   uint8_t);
template void im2col_pack<int8_t>(const ConvGeometry&, const int8_t*, int64_t, int64_t, int, int8_t*, int8_t);
template void im2col_pack<int16_t>(const ConvGeometry&, const int16_t*, int64_t, int64_t, int, int16_t*,
                                   int16_t);

}  // namespace tinyqat
