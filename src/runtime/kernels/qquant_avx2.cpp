// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear loops compiled for avx2.
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
namespace qquant_avx2 {
#include "runtime/kernels/qquant.inc"
}  // namespace qquant_avx2
const QElementwise qelementwise_avx2 = {qquant_avx2::minmax, qquant_avx2::quantize, qquant_avx2::dequantize,
                                        qquant_avx2::add};
}  // namespace tinyqat
