// int8 GEMM micro-kernel for AVX2: 4 output channels × 16 columns, k-groups of 2 (zero-extended
// activations, vpmaddwd against int16 weight pairs: exact, never saturates).
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
namespace qgemm_avx2 {
#define QG_KC 2
#include "runtime/kernels/qgemm_ukernel.inc"
}  // namespace qgemm_avx2

const QGemmKernel& qgemm_kernel_avx2() {
  using namespace qgemm_avx2;
  static const QGemmKernel k = make_kernel<4, 2>("avx2 4x16c2", 16, 2);
  return k;
}

}  // namespace tinyqat
