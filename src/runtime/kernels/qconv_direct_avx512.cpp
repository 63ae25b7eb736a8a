// Direct integer convolution (depthwise and tiny groups) compiled for avx512.
// GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "runtime/kernels/qconv_direct3x3.h"
#include "runtime/kernels/qgemm.h"

namespace tinyqat {
namespace qdirect_avx512 {
#include "runtime/kernels/qconv_direct.inc"
}  // namespace qdirect_avx512
const QConvDirect qconv_direct_avx512 = qdirect_avx512::conv_direct;
const QConvDirect3x3 qconv_direct3x3_avx512 = qdirect_avx512::conv_direct3x3;
}  // namespace tinyqat
