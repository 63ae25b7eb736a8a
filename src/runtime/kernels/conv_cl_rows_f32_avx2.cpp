// The channels-last-rows fp32 convolution for AVX2 + FMA (conv_cl_rows_f32.h says why and how).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/kernels/conv_cl_rows_f32.h"

namespace tinyqat {
namespace {

using conv_cl::kBlock;
using conv_cl::kPixels;
alignas(32) constexpr float kZeros[kBlock] = {};
typedef float vf __attribute__((vector_size(32), aligned(4)));

// 8 rows of 8 floats transposed in place: r[i][j] becomes r[j][i].
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20), r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20), r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31), r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31), r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Input row iy of the C planes (or of a channels-last image or one plane: one copy) into a ring row: ring
// column j holds input column j - PL (zero outside the image), channels contiguous.
void to_channels_last(const ConvGeometry& g, const float* x, bool x_cl, int64_t iy, int64_t ring_w,
                      float* T) {
  const int64_t C = g.C, HW = g.H * g.W;
  const int64_t ix_end = std::min(g.W, ring_w - g.PL);  // input columns the ring holds
  const int64_t lead = std::min(g.PL, ring_w);
  std::memset(T, 0, sizeof(float) * lead * C);
  if (ix_end <= 0) {
    std::memset(T + lead * C, 0, sizeof(float) * (ring_w - lead) * C);
    return;
  }
  std::memset(T + (g.PL + ix_end) * C, 0, sizeof(float) * (ring_w - g.PL - ix_end) * C);
  float* dst = T + g.PL * C;
  if (x_cl || C == 1) {  // one channel: planes are channels-last
    std::memcpy(dst, x + iy * g.W * C, sizeof(float) * ix_end * C);
    return;
  }
  const float* src = x + iy * g.W;
  const int64_t C8 = C / 8 * 8;
  int64_t ix = 0;
  for (; ix + 8 <= ix_end; ix += 8) {
    for (int64_t c0 = 0; c0 < C8; c0 += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (c0 + i) * HW + ix);
      transpose8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (ix + i) * C + c0, r[i]);
    }
    for (int64_t c = C8; c < C; ++c)
      for (int i = 0; i < 8; ++i) dst[(ix + i) * C + c] = src[c * HW + ix + i];
  }
  for (; ix < ix_end; ++ix)
    for (int64_t c = 0; c < C; ++c) dst[ix * C + c] = src[c * HW + ix];
}

// Where a tile writes its results when they go straight to a channels-last output: y at the tile's
// first pixel and block's first channel, `stride` floats per pixel, `pixels` of the tile's pixels valid.
struct TileOut {
  float* y;
  int64_t stride;
  int pixels;
  const float* bias;  // the block's (zeros when the conv has none)
  __m256 lo, hi;
};

// One register tile: P (4–6) output pixels × NV·8 output channels, summed over (ky, kx, c). rows[ky]
// points at the ring row's column of the tile's first pixel, the next pixel `step` floats on (SW·C); w
// at the block's packed taps. The results go to O pixel-major (O[p*NV*8 + channel]), or to `out`.
template <int NV, int P>
void tile(const float* const* rows, int64_t KH, int64_t KW, int64_t C, int64_t step, const float* w, float* O,
          const TileOut* out = nullptr) {
  static_assert(P >= 1 && P <= kPixels);
  vf acc[P][NV];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[p][v] = vf{};
  // Per kernel row, the taps (kx, c) of a pixel are KW·C consecutive floats of the ring row, in the
  // order of the packed weights: one loop (a 1-channel stem's is 3 long, not 3 loops of 1).
  const int64_t n = KW * C;
  for (int64_t ky = 0; ky < KH; ++ky) {
    const float* xr = rows[ky];
    for (int64_t j = 0; j < n; ++j, w += NV * 8) {
      vf wv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) wv[v] = *reinterpret_cast<const vf*>(w + v * 8);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const float b = xr[p * step + j];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) acc[p][v] += wv[v] * b;
      }
    }
  }
  if (!out) {
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) *reinterpret_cast<vf*>(O + (p * NV + v) * 8) = acc[p][v];
    return;
  }
  // Straight into a channels-last output: clamp(sum + bias), NaN kept (as store_row_cl).
  __m256 vb[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) vb[v] = _mm256_loadu_ps(out->bias + v * 8);
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    if (p >= out->pixels) break;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      _mm256_storeu_ps(
          out->y + p * out->stride + v * 8,
          _mm256_min_ps(out->hi, _mm256_max_ps(out->lo, _mm256_add_ps(__m256(acc[p][v]), vb[v]))));
  }
}

// One output row of a block of `width` (8 or 16) channels from the tile results O (pixel-major, OW
// columns valid): y[m][x] = clamp(O[x][m] + r[m][x] + bias[m], lo, hi); channels ≥ M (the block's zero
// lanes) are not written. y and r point at the row in channel m0's plane. Two passes: 8×8 transposes
// into T (channel-major, L1), then one plane at a time — a residual read 16 planes at once, interleaved
// with the 16 output planes' stores, cost 15–20 % of the conv; plane by plane 5–10 %.
void store_row(const float* O, int width, int64_t m0, int64_t M, int64_t OW, int64_t plane, const float* bias,
               const float* r, float* y, float lo, float hi, float* T) {
  const int64_t W8 = (OW + 7) / 8 * 8;
  for (int64_t x0 = 0; x0 < OW; x0 += 8)
    for (int h = 0; h < width; h += 8) {
      __m256 v[8];
      for (int i = 0; i < 8; ++i) v[i] = _mm256_loadu_ps(O + (x0 + i) * width + h);
      transpose8(v);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(T + (h + i) * W8 + x0, v[i]);
    }
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  const int64_t channels = std::min<int64_t>(width, M - m0);
  for (int64_t i = 0; i < channels; ++i) {
    const float* t = T + i * W8;
    const float* rr = r ? r + i * plane : nullptr;
    float* yy = y + i * plane;
    const float b = bias ? bias[m0 + i] : 0.f;
    const __m256 vb = _mm256_set1_ps(b);
    int64_t x = 0;
    for (; x + 8 <= OW; x += 8) {
      __m256 s = _mm256_loadu_ps(t + x);
      if (rr) s = _mm256_add_ps(s, _mm256_loadu_ps(rr + x));
      s = _mm256_add_ps(s, vb);
      // maxps / minps return their second operand when either is NaN: a NaN sum stays NaN (as on the
      // GEMM and direct paths).
      _mm256_storeu_ps(yy + x, _mm256_min_ps(vhi, _mm256_max_ps(vlo, s)));
    }
    for (; x < OW; ++x) yy[x] = std::min(std::max(t[x] + (rr ? rr[x] : 0.f) + b, lo), hi);  // NaN stays
  }
}

// O[x][j] += r[channel m0 + j][x] for the block's channels: a residual in planes (8×8 transposes;
// `r` at the row in channel m0's plane) or channels-last (`r` at the row's first pixel, M per pixel).
void add_residual(float* O, int width, int64_t m0, int64_t M, int64_t OW, int64_t plane, const float* r,
                  bool r_cl) {
  const int64_t channels = std::min<int64_t>(width, M - m0);
  if (r_cl) {
    for (int64_t x = 0; x < OW; ++x) {
      float* o = O + x * width;
      const float* rr = r + x * M + m0;
      if (channels == width) {
        for (int h = 0; h < width; h += 8)
          _mm256_storeu_ps(o + h, _mm256_add_ps(_mm256_loadu_ps(o + h), _mm256_loadu_ps(rr + h)));
      } else {
        for (int64_t j = 0; j < channels; ++j) o[j] += rr[j];
      }
    }
    return;
  }
  for (int64_t x0 = 0; x0 < OW; x0 += 8) {
    const int64_t n = std::min<int64_t>(8, OW - x0);
    for (int h = 0; h < width; h += 8) {
      __m256 v[8];
      for (int i = 0; i < 8; ++i) {
        const float* rr = r + (h + i) * plane + x0;
        if (h + i >= channels) {
          v[i] = _mm256_setzero_ps();
        } else if (n == 8) {
          v[i] = _mm256_loadu_ps(rr);
        } else {
          float t[8] = {};
          std::memcpy(t, rr, sizeof(float) * n);
          v[i] = _mm256_loadu_ps(t);
        }
      }
      transpose8(v);  // v[j]: pixel x0 + j, channels h..h+7
      for (int j = 0; j < 8; ++j) {
        float* o = O + (x0 + j) * width + h;
        _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), v[j]));
      }
    }
  }
}

// One output row of the block into a channels-last output (`y` at the row's first pixel, M per pixel):
// y[x][m0 + j] = clamp(O[x][j] + bias[m0 + j], lo, hi), NaN kept.
void store_row_cl(const float* O, int width, int64_t m0, int64_t M, int64_t OW, const float* bias, float* y,
                  float lo, float hi) {
  const int64_t channels = std::min<int64_t>(width, M - m0);
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  __m256 vb[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  if (bias && channels == width)
    for (int h = 0; h < width; h += 8) vb[h / 8] = _mm256_loadu_ps(bias + m0 + h);
  for (int64_t x = 0; x < OW; ++x) {
    const float* o = O + x * width;
    float* yy = y + x * M + m0;
    if (channels == width) {
      for (int h = 0; h < width; h += 8)
        _mm256_storeu_ps(
            yy + h, _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_add_ps(_mm256_loadu_ps(o + h), vb[h / 8]))));
    } else {
      for (int64_t j = 0; j < channels; ++j)
        yy[j] = std::min(std::max(o[j] + (bias ? bias[m0 + j] : 0.f), lo), hi);
    }
  }
}

// Pixels of the next tile with r output pixels of the row left: 4, 5 or 6 so that the rest splits
// exactly into such tiles too (any r ≥ 4 but 7), so rows of 8 or more pixels compute none past their
// end (a 32-wide row in 6-pixel tiles computed 36). Tiles of 4 and 5 pixels run at the rate of 6
// (docs/decisions/0001). r < 4 and r = 7 leave a tile reaching past the row (at most 3 pixels).
inline int tile_pixels(int64_t r) {
  if (r <= kPixels) return r >= 4 ? static_cast<int>(r) : 4;
  for (int p = kPixels; p >= 4; --p)
    if (r - p >= 4 && r - p != 7) return p;
  return 4;
}
// Pixels the tiles of a row of n compute (≤ n + 3, within conv_cl::Layout's tiles_w).
inline int64_t tiles_cover(int64_t n) {
  int64_t x = 0;
  while (x < n) x += tile_pixels(n - x);
  return x;
}

void conv_cl_rows(const ConvGeometry& g, const ConvClWeights& w, const float* x, const float* bias,
                  const float* r, float* y, int64_t oy_begin, int64_t oy_end, float lo, float hi,
                  float* scratch, ConvClLayout layout) {
  const conv_cl::Layout l = conv_cl::layout(g);
  const int64_t C = g.C, M = w.M, taps = g.KH * g.KW * C, plane = g.OH * g.OW, row_floats = l.ring_w * C;
  // Scratch: KH ring rows, a zero row (rows above/below the image), the tile results and their
  // channel-major copy; 32-byte aligned.
  float* ring = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 31) & ~uintptr_t{31});
  float* zero_row = ring + g.KH * row_floats;
  float* O = zero_row + row_floats;
  float* T = O + l.out_w * kBlock;
  std::memset(zero_row, 0, sizeof(float) * row_floats);
  std::memset(O, 0, sizeof(float) * l.out_w * kBlock);  // columns past tiles_w are read, never stored
  int64_t held[conv_cl::kMaxKH];                        // the input row each ring slot holds
  std::fill(held, held + g.KH, int64_t{-1});
  // Output pixels [p0, p0 + n) of one output row (or, for a flat 1×1 conv, of the run of rows), n ≤
  // tiles_w, every block of output channels; rows[ky]: the ring row (or input) column of pixel p0.
  auto emit = [&](const float* const* rows, int64_t p0, int64_t n) {
    for (int64_t m0 = 0; m0 < M; m0 += kBlock) {
      const int width = M - m0 <= 8 ? 8 : kBlock;
      const float* wb = w.data.data() + m0 * taps;
      const float* tile_rows[conv_cl::kMaxKH];
      const int64_t step = g.SW * C;
      const int64_t off = m0 * plane + p0, off_cl = p0 * M;
      // A channels-last output without a residual, the block's lanes all channels: tiles store their
      // results directly (no second pass over the row).
      const bool direct = layout.y && !r && m0 + width <= M;
      TileOut to{y + off_cl + m0,   M, kPixels, bias ? bias + m0 : kZeros, _mm256_set1_ps(lo),
                 _mm256_set1_ps(hi)};
      for (int64_t x0 = 0; x0 < n;) {
        for (int64_t ky = 0; ky < g.KH; ++ky) tile_rows[ky] = rows[ky] + x0 * step;
        const int pix = tile_pixels(n - x0);
        to.pixels = static_cast<int>(std::min<int64_t>(pix, n - x0));
        float* o = O + x0 * width;
        const TileOut* d = direct ? &to : nullptr;
        switch (pix * 2 + (width == 8 ? 0 : 1)) {
          case 8:
            tile<1, 4>(tile_rows, g.KH, g.KW, C, step, wb, o, d);
            break;
          case 9:
            tile<2, 4>(tile_rows, g.KH, g.KW, C, step, wb, o, d);
            break;
          case 10:
            tile<1, 5>(tile_rows, g.KH, g.KW, C, step, wb, o, d);
            break;
          case 11:
            tile<2, 5>(tile_rows, g.KH, g.KW, C, step, wb, o, d);
            break;
          case 12:
            tile<1, 6>(tile_rows, g.KH, g.KW, C, step, wb, o, d);
            break;
          default:
            tile<2, 6>(tile_rows, g.KH, g.KW, C, step, wb, o, d);
            break;
        }
        to.y += pix * M;
        x0 += pix;
      }
      if (direct) continue;
      // (conv + r) + bias in every layout, as on the GEMM path. A residual in planes for an output in
      // planes is added plane by plane on the way out (store_row); otherwise into the sums first.
      const float* rr = r ? (layout.r ? r + off_cl : r + off) : nullptr;
      if (rr && (layout.r || layout.y)) {
        add_residual(O, width, m0, M, n, plane, rr, layout.r);
        rr = nullptr;
      }
      if (layout.y)
        store_row_cl(O, width, m0, M, n, bias, y + off_cl, lo, hi);
      else
        store_row(O, width, m0, M, n, plane, bias, rr, y + off, lo, hi, T);
    }
  };
  const float* rows[conv_cl::kMaxKH];
  if (g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H &&
      g.OW == g.W && layout.x) {
    // An unpadded 1×1 conv over a channels-last image: output pixel p reads input pixel p, so the rows are
    // one run of pixels, read in place, in runs of tiles_w (no partial tile per row: a 14-wide row computed
    // 18). The last tile of the image reads a zero-padded copy (tiles read whole).
    for (int64_t p = oy_begin * g.OW, p_end = oy_end * g.OW; p < p_end; p += l.tiles_w) {
      const int64_t n = std::min(l.tiles_w, p_end - p), tiles_n = tiles_cover(n);
      rows[0] = x + p * C;
      if (p + tiles_n > plane) {
        std::memcpy(ring, rows[0], sizeof(float) * n * C);
        std::memset(ring + n * C, 0, sizeof(float) * (tiles_n - n) * C);
        rows[0] = ring;
      }
      emit(rows, p, n);
    }
    return;
  }
  for (int64_t oy = oy_begin; oy < oy_end; ++oy) {
    for (int64_t ky = 0; ky < g.KH; ++ky) {
      const int64_t iy = oy * g.SH - g.PT + ky;
      if (iy < 0 || iy >= g.H) {
        rows[ky] = zero_row;
        continue;
      }
      const int64_t slot = iy % g.KH;  // the KH rows of one output row fall in distinct slots
      float* row = ring + slot * row_floats;
      if (held[slot] != iy) {
        to_channels_last(g, x, layout.x, iy, l.ring_w, row);
        held[slot] = iy;
      }
      rows[ky] = row;
    }
    emit(rows, oy * g.OW, g.OW);
  }
}

}  // namespace

const ConvClF32 conv_cl_f32_avx2 = conv_cl_rows;

}  // namespace tinyqat
