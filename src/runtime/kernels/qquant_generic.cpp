// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear loops compiled for generic.
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
namespace qquant_generic {
#include "runtime/kernels/qquant.inc"
}  // namespace qquant_generic
const QElementwise qelementwise_generic = {qquant_generic::minmax, qquant_generic::quantize,
                                           qquant_generic::dequantize, qquant_generic::add};
}  // namespace tinyqat
