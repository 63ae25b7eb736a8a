// The channels-last depthwise 3×3 fp32 conv for AVX2 + FMA (conv_dw_cl_f32.h).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/conv_dw_cl_f32.h"

namespace tinyqat {
namespace conv_dw_cl_avx2 {
#include "runtime/kernels/conv3x3_rows.inc"

// One output vector: the planes path's own sum (conv3x3_rows.inc r3_sum9, the same expression compiled
// with the same flags: three chains, one per kernel row, the bias at the start of the first), then the
// clamp with NaN kept (maxps/minps return their second operand when either is NaN).
struct Taps {
  R3Taps t;
  vfl lo, hi;
};
inline __m256 sum9(const Taps& t, const __m256 x[9]) {
  const vfl s = r3_sum9(t.t, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]);
  return _mm256_min_ps(t.hi, _mm256_max_ps(t.lo, s));
}

void conv_dw_cl(const ConvGeometry& g, const ConvDwClWeights& w, const float* x, const float* bias, float* y,
                int64_t oy_begin, int64_t oy_end, float lo, float hi) {
  const int64_t C = w.C, W = g.W, OW = g.OW, SW = g.SW, PL = g.PL;
  alignas(32) static const float zeros[8] = {};
  // Output columns whose three input columns all lie inside the row: [ox_lo, ox_hi).
  const int64_t ox_lo = std::min(OW, (PL + SW - 1) / SW);
  const int64_t ox_hi = W - 3 + PL < 0 ? ox_lo : std::clamp((W - 3 + PL) / SW + 1, ox_lo, OW);
  Taps t;
  t.lo = r3_splat(lo), t.hi = r3_splat(hi);
  for (int64_t oy = oy_begin; oy < oy_end; ++oy) {
    // Row ky of the window (null outside the image), and the steps per output column and per tap: rows
    // outside the image read the zero vector without moving.
    const float* row[3];
    int64_t step[3], tap[3];
    for (int ky = 0; ky < 3; ++ky) {
      const int64_t iy = oy * g.SH - g.PT + ky;
      const bool in = iy >= 0 && iy < g.H;
      row[ky] = in ? x + iy * W * C : nullptr;
      step[ky] = in ? SW * C : 0;
      tap[ky] = in ? C : 0;
    }
    float* yrow = y + oy * OW * C;
    // Columns in chunks whose three input rows stay in L1 (~16 KiB) while each 8-channel block passes
    // over them: on wide images the whole rows did not (48 channels × 160 columns: 1.3× ONNX Runtime's
    // time).
    const int64_t chunk = std::max<int64_t>(8, 16384 / (12 * C * SW));
    for (int64_t x0 = 0; x0 < OW; x0 += chunk) {
      const int64_t x1 = std::min(OW, x0 + chunk);
      for (int64_t c0 = 0; c0 < C; c0 += 8) {
        const float* wb = w.data.data() + c0 * 9;
        t.t = R3Taps{r3_load(wb),      r3_load(wb + 8),
                     r3_load(wb + 16), r3_load(wb + 24),
                     r3_load(wb + 32), r3_load(wb + 40),
                     r3_load(wb + 48), r3_load(wb + 56),
                     r3_load(wb + 64), bias ? r3_load(bias + c0) : vfl{}};
        auto edge = [&](int64_t ox) {  // some input column outside the row: zero there
          __m256 v[9];
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int64_t ix = ox * SW - PL + kx;
              v[ky * 3 + kx] =
                  row[ky] && ix >= 0 && ix < W ? _mm256_loadu_ps(row[ky] + ix * C + c0) : _mm256_setzero_ps();
            }
          _mm256_storeu_ps(yrow + ox * C + c0, sum9(t, v));
        };
        int64_t ox = x0;
        for (; ox < std::min(x1, ox_lo); ++ox) edge(ox);
        if (const int64_t end = std::min(x1, ox_hi); ox < end) {
          // The interior: each row's window starts at column ox·SW − PL ≥ 0.
          const int64_t first = (ox * SW - PL) * C + c0;
          const float* a = row[0] ? row[0] + first : zeros;
          const float* b = row[1] ? row[1] + first : zeros;
          const float* c = row[2] ? row[2] + first : zeros;
          for (; ox < end; ++ox, a += step[0], b += step[1], c += step[2]) {
            const __m256 v[9] = {
                _mm256_loadu_ps(a), _mm256_loadu_ps(a + tap[0]), _mm256_loadu_ps(a + 2 * tap[0]),
                _mm256_loadu_ps(b), _mm256_loadu_ps(b + tap[1]), _mm256_loadu_ps(b + 2 * tap[1]),
                _mm256_loadu_ps(c), _mm256_loadu_ps(c + tap[2]), _mm256_loadu_ps(c + 2 * tap[2])};
            _mm256_storeu_ps(yrow + ox * C + c0, sum9(t, v));
          }
        }
        for (; ox < x1; ++ox) edge(ox);
      }
    }
  }
}

}  // namespace conv_dw_cl_avx2

const ConvDwClF32 conv_dw_cl_f32_avx2 = conv_dw_cl_avx2::conv_dw_cl;

}  // namespace tinyqat
