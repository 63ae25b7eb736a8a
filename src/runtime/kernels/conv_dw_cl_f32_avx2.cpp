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

// Loads and stores of one block of channels: 8 lanes, or the last block's `mask`ed lanes (vmaskmovps:
// the others read as 0 and are neither read past the image nor written).
template <bool kTail>
struct Lanes {
  __m256i mask;
  __m256 load(const float* p) const { return kTail ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p); }
  void store(float* p, __m256 v) const {
    if constexpr (kTail)
      _mm256_maskstore_ps(p, mask, v);
    else
      _mm256_storeu_ps(p, v);
  }
};

// The rows of the window of one output row: row ky (null outside the image) and the steps per output
// column and per tap (rows outside the image read the zero vector without moving).
struct Window {
  const float* row[3];
  int64_t step[3], tap[3];
};

// Output columns [x0, x1) of one output row, channels [c0, c0 + 8) (the last block: its mask's).
template <bool kTail>
void block(const ConvGeometry& g, int64_t C, const Window& win, const Taps& t, Lanes<kTail> io, int64_t c0,
           int64_t x0, int64_t x1, int64_t ox_lo, int64_t ox_hi, float* yrow) {
  alignas(32) static const float zeros[8] = {};
  const int64_t W = g.W, SW = g.SW, PL = g.PL;
  auto edge = [&](int64_t ox) {  // some input column outside the row: zero there
    __m256 v[9];
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx) {
        const int64_t ix = ox * SW - PL + kx;
        v[ky * 3 + kx] =
            win.row[ky] && ix >= 0 && ix < W ? io.load(win.row[ky] + ix * C + c0) : _mm256_setzero_ps();
      }
    io.store(yrow + ox * C + c0, sum9(t, v));
  };
  int64_t ox = x0;
  for (; ox < std::min(x1, ox_lo); ++ox) edge(ox);
  if (const int64_t end = std::min(x1, ox_hi); ox < end) {
    // The interior: each row's window starts at column ox·SW − PL ≥ 0.
    const int64_t first = (ox * SW - PL) * C + c0;
    const float* a = win.row[0] ? win.row[0] + first : zeros;
    const float* b = win.row[1] ? win.row[1] + first : zeros;
    const float* c = win.row[2] ? win.row[2] + first : zeros;
    const int64_t *step = win.step, *tap = win.tap;
    for (; ox < end; ++ox, a += step[0], b += step[1], c += step[2]) {
      const __m256 v[9] = {io.load(a), io.load(a + tap[0]), io.load(a + 2 * tap[0]),
                           io.load(b), io.load(b + tap[1]), io.load(b + 2 * tap[1]),
                           io.load(c), io.load(c + tap[2]), io.load(c + 2 * tap[2])};
      io.store(yrow + ox * C + c0, sum9(t, v));
    }
  }
  for (; ox < x1; ++ox) edge(ox);
}

void conv_dw_cl(const ConvGeometry& g, const ConvDwClWeights& w, const float* x, const float* bias, float* y,
                int64_t oy_begin, int64_t oy_end, float lo, float hi) {
  const int64_t C = w.C, W = g.W, OW = g.OW, SW = g.SW, PL = g.PL;
  // Output columns whose three input columns all lie inside the row: [ox_lo, ox_hi).
  const int64_t ox_lo = std::min(OW, (PL + SW - 1) / SW);
  const int64_t ox_hi = W - 3 + PL < 0 ? ox_lo : std::clamp((W - 3 + PL) / SW + 1, ox_lo, OW);
  const int tail = static_cast<int>(C % 8);
  const Lanes<true> tail_io{_mm256_setr_epi32(0 < tail ? -1 : 0, 1 < tail ? -1 : 0, 2 < tail ? -1 : 0,
                                              3 < tail ? -1 : 0, 4 < tail ? -1 : 0, 5 < tail ? -1 : 0,
                                              6 < tail ? -1 : 0, 0)};
  Taps t;
  t.lo = r3_splat(lo), t.hi = r3_splat(hi);
  for (int64_t oy = oy_begin; oy < oy_end; ++oy) {
    Window win;
    for (int ky = 0; ky < 3; ++ky) {
      const int64_t iy = oy * g.SH - g.PT + ky;
      const bool in = iy >= 0 && iy < g.H;
      win.row[ky] = in ? x + iy * W * C : nullptr;
      win.step[ky] = in ? SW * C : 0;
      win.tap[ky] = in ? C : 0;
    }
    float* yrow = y + oy * OW * C;
    // Columns in chunks whose three input rows stay in L1 (~16 KiB) while each 8-channel block passes
    // over them: on wide images the whole rows did not (48 channels × 160 columns: 1.3× ONNX Runtime's
    // time).
    const int64_t chunk = std::max<int64_t>(8, 16384 / (12 * C * SW));
    for (int64_t x0 = 0; x0 < OW; x0 += chunk) {
      const int64_t x1 = std::min(OW, x0 + chunk);
      for (int64_t c0 = 0; c0 < C; c0 += 8) {
        const bool last = C - c0 < 8;
        const float* wb = w.data.data() + c0 * 9;  // packed with zero lanes past C
        vfl b{};
        if (bias) b = last ? tail_io.load(bias + c0) : r3_load(bias + c0);
        t.t = R3Taps{r3_load(wb),      r3_load(wb + 8),  r3_load(wb + 16), r3_load(wb + 24), r3_load(wb + 32),
                     r3_load(wb + 40), r3_load(wb + 48), r3_load(wb + 56), r3_load(wb + 64), b};
        if (last)
          block(g, C, win, t, tail_io, c0, x0, x1, ox_lo, ox_hi, yrow);
        else
          block(g, C, win, t, Lanes<false>{}, c0, x0, x1, ox_lo, ox_hi, yrow);
      }
    }
  }
}

}  // namespace conv_dw_cl_avx2

const ConvDwClF32 conv_dw_cl_f32_avx2 = conv_dw_cl_avx2::conv_dw_cl;

}  // namespace tinyqat
