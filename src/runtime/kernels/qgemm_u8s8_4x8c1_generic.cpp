// Portable int8 GEMM micro-kernel: 4 output channels × 8 columns, one k at a time, 16-bit products
// widened into int32 accumulators (GCC vector types, no intrinsics).
// GCC 12 reports its own _mm512_undefined_*() idiom inside the AVX-512 intrinsics as uninitialised.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "runtime/kernels/qgemm.h"

namespace tinyqat {
namespace qgemm_generic {
#define QG_KC 1
#include "runtime/kernels/qgemm_ukernel.inc"
}  // namespace qgemm_generic

const QGemmKernel& qgemm_kernel_generic() {
  using namespace qgemm_generic;
  static const QGemmKernel k = make_kernel<4, 8>("generic 4x8c1", 8, 2);
  return k;
}

}  // namespace tinyqat
