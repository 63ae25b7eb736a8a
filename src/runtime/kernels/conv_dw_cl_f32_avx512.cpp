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

// 16 lanes, or the last block's first n (conv3x3_rows.inc's masked loads and stores: the other lanes are
// neither read nor written).
template <bool kTail>
struct Lanes {
  int n;
  vfl load(const float* p) const { return kTail ? r3_load_part(p, n) : r3_load(p); }
  void store(float* p, vfl v) const {
    if constexpr (kTail)
      r3_store_part(p, v, n);
    else
      r3_store(p, v);
  }
};
inline Lanes<true> tail_lanes(int n) {
  return {n};
}

#include "runtime/kernels/conv_dw_cl_f32.inc"

}  // namespace conv_dw_cl_avx512

const ConvDwClF32 conv_dw_cl_f32_avx512 = conv_dw_cl_avx512::conv_dw_cl;

}  // namespace tinyqat
