// Direct integer convolution (depthwise and tiny groups) compiled for AVX-512 VNNI (vpdpbusd in the 3×3
// path). GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
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
namespace qdirect_avx512vnni {
#include "runtime/kernels/qconv_direct.inc"
}  // namespace qdirect_avx512vnni
const QConvDirect qconv_direct_avx512vnni = qdirect_avx512vnni::conv_direct;
const QConvDirect3x3 qconv_direct3x3_avx512vnni = qdirect_avx512vnni::conv_direct3x3;
}  // namespace tinyqat
