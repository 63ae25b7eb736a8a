// The channels-last depthwise 3×3 fp32 conv for AVX-512 (conv_dw_cl_f32.h): 16 channels per vector.
// GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/conv_dw_cl_f32.h"

namespace tinyqat {
namespace conv_dw_cl_avx512 {
#include "runtime/kernels/conv3x3_rows.inc"

// 16 lanes, or the last block's `mask`ed lanes (masked loads and stores do not fault on the others).
template <bool kTail>
struct Lanes {
  __mmask16 mask;
  vfl load(const float* p) const { return kTail ? _mm512_maskz_loadu_ps(mask, p) : _mm512_loadu_ps(p); }
  void store(float* p, vfl v) const {
    if constexpr (kTail)
      _mm512_mask_storeu_ps(p, mask, v);
    else
      _mm512_storeu_ps(p, v);
  }
};
inline Lanes<true> tail_lanes(int n) {
  return {static_cast<__mmask16>((1u << n) - 1)};
}

#include "runtime/kernels/conv_dw_cl_f32.inc"

}  // namespace conv_dw_cl_avx512

const ConvDwClF32 conv_dw_cl_f32_avx512 = conv_dw_cl_avx512::conv_dw_cl;

}  // namespace tinyqat
