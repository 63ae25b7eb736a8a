// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear loops compiled for avx512.
// GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/numerics.h"
#include "runtime/kernels/qgemm.h"

namespace tinyqat {
namespace qquant_avx512 {
#include "runtime/kernels/qquant.inc"
}  // namespace qquant_avx512
const QElementwise qelementwise_avx512 = {qquant_avx512::minmax, qquant_avx512::quantize,
                                          qquant_avx512::dequantize, qquant_avx512::add};
}  // namespace tinyqat
