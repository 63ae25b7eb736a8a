// The channels-last-rows fp32 convolution for AVX-512: 16-lane vectors, tiles of up to 12 pixels.
// GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "runtime/kernels/conv_cl_rows_f32.h"

namespace tinyqat {
namespace conv_cl_avx512 {

constexpr int kLanes = 16;
typedef float vf __attribute__((vector_size(64), aligned(4)));
// maxps / minps return their second operand when either is NaN: a NaN sum stays NaN.
inline vf vclamp(vf s, vf lo, vf hi) {
  return vf(_mm512_min_ps(__m512(hi), _mm512_max_ps(__m512(lo), __m512(s))));
}
inline vf load_lanes(const float* p, int n) {
  if (n == kLanes) return *reinterpret_cast<const vf*>(p);
  return vf(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p));
}
inline void store_lanes(float* p, vf v, int n) {
  if (n == kLanes)
    *reinterpret_cast<vf*>(p) = v;
  else
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), __m512(v));
}
// Masked stores cost what full ones do: a block with lanes past M (M = 24: 32 lanes) stores from its
// tiles too.
constexpr bool kPartialDirect = true;
// 12 pixels × 2 vectors: 24 accumulators of the 32 registers, and at least 8 independent sums with one
// vector (two FMA pipes × 4 cycles).
constexpr int kTileP = 12;
// Pixels of the next tile with r output pixels of the row left: the row's tiles as even as they can be
// (ceil(r / 12) tiles), so no tile computes past the row.
inline int tile_pixels(int64_t r) {
  const int64_t tiles = (r + kTileP - 1) / kTileP;
  return static_cast<int>((r + tiles - 1) / tiles);
}

#include "runtime/kernels/conv_cl_rows_f32.inc"

}  // namespace conv_cl_avx512

const ConvClF32 conv_cl_f32_avx512 = conv_cl_avx512::conv_cl_rows;

}  // namespace tinyqat
