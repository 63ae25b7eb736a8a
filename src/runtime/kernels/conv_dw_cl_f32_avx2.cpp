// The channels-last depthwise 3×3 fp32 conv for AVX2 + FMA (conv_dw_cl_f32.h): 8 channels per vector.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/conv_dw_cl_f32.h"

namespace tinyqat {
namespace conv_dw_cl_avx2 {
#include "runtime/kernels/conv3x3_rows.inc"

// 8 lanes, or the last block's `mask`ed lanes (vmaskmovps).
template <bool kTail>
struct Lanes {
  __m256i mask;
  vfl load(const float* p) const { return kTail ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p); }
  void store(float* p, vfl v) const {
    if constexpr (kTail)
      _mm256_maskstore_ps(p, mask, v);
    else
      _mm256_storeu_ps(p, v);
  }
};
inline Lanes<true> tail_lanes(int n) {
  return {_mm256_setr_epi32(0 < n ? -1 : 0, 1 < n ? -1 : 0, 2 < n ? -1 : 0, 3 < n ? -1 : 0, 4 < n ? -1 : 0,
                            5 < n ? -1 : 0, 6 < n ? -1 : 0, 0)};
}

#include "runtime/kernels/conv_dw_cl_f32.inc"

}  // namespace conv_dw_cl_avx2

const ConvDwClF32 conv_dw_cl_f32_avx2 = conv_dw_cl_avx2::conv_dw_cl;

}  // namespace tinyqat
