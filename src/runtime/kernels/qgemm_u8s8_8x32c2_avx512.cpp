// int8 GEMM micro-kernel for AVX-512BW without VNNI: 8 output channels × 32 columns, k-groups of 2
// (zero-extended activations, vpmaddwd against int16 weight pairs: exact, never saturates).
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
namespace qgemm_avx512 {
#define QG_KC 2
#include "runtime/kernels/qgemm_ukernel.inc"
}  // namespace qgemm_avx512

const QGemmKernel& qgemm_kernel_avx512() {
  using namespace qgemm_avx512;
  static const QGemmKernel k = make_kernel<8, 2>("avx512 8x32c2", 32, 2);
  return k;
}

}  // namespace tinyqat
