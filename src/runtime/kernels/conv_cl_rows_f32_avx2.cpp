// The channels-last-rows fp32 convolution for AVX2 + FMA: 8-lane vectors, tiles of 4–6 pixels.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "runtime/kernels/conv_cl_rows_f32.h"

namespace tinyqat {
namespace conv_cl_avx2 {

constexpr int kLanes = 8;
typedef float vf __attribute__((vector_size(32), aligned(4)));
// maxps / minps return their second operand when either is NaN: a NaN sum stays NaN.
inline vf vclamp(vf s, vf lo, vf hi) {
  return vf(_mm256_min_ps(__m256(hi), _mm256_max_ps(__m256(lo), __m256(s))));
}
// Whole vectors only: without kPartialDirect every block that stores from its tiles has all its lanes.
inline vf load_lanes(const float* p, int) {
  return *reinterpret_cast<const vf*>(p);
}
inline void store_lanes(float* p, vf v, int) {
  *reinterpret_cast<vf*>(p) = v;
}
// vmaskmovps stores are slow on Zen 3 (measured: no faster than the tile-results row and a scalar
// store): a block with lanes past M goes through that row.
constexpr bool kPartialDirect = false;
// 6 pixels × 2 vectors: 12 accumulators of the 16 registers.
constexpr int kTileP = conv_cl::kPixels;
// Pixels of the next tile with r output pixels of the row left: 4, 5 or 6 so that the rest splits
// exactly into such tiles too (any r ≥ 4 but 7), so rows of 8 or more pixels compute none past their
// end (a 32-wide row in 6-pixel tiles computed 36). Tiles of 4 and 5 pixels run at the rate of 6
// (docs/decisions/0001). r < 4 and r = 7 leave a tile reaching past the row (at most 3 pixels).
inline int tile_pixels(int64_t r) {
  if (r <= kTileP) return r >= 4 ? static_cast<int>(r) : 4;
  for (int p = kTileP; p >= 4; --p)
    if (r - p >= 4 && r - p != 7) return p;
  return 4;
}

#include "runtime/kernels/conv_cl_rows_f32.inc"

}  // namespace conv_cl_avx2

const ConvClF32 conv_cl_f32_avx2 = conv_cl_avx2::conv_cl_rows;

}  // namespace tinyqat
