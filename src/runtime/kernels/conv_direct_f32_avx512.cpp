// Direct fp32 convolution compiled for avx512.
// GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {
namespace conv_direct_avx512 {
#include "runtime/kernels/conv_direct_f32.inc"
}  // namespace conv_direct_avx512
const ConvDirectF32 conv_direct_f32_avx512 = conv_direct_avx512::conv_direct;
}  // namespace tinyqat
