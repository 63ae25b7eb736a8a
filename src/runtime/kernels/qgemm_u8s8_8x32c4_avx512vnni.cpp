// int8 GEMM micro-kernel for AVX-512 VNNI: 8 output channels × 32 columns, k-groups of 4 (vpdpbusd
// with the weights as an embedded 32-bit broadcast).
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
namespace qgemm_avx512vnni {
#define QG_KC 4
#include "runtime/kernels/qgemm_ukernel.inc"
}  // namespace qgemm_avx512vnni

const QGemmKernel& qgemm_kernel_avx512vnni() {
  using namespace qgemm_avx512vnni;
  static const QGemmKernel k = make_kernel<8, 2>("avx512vnni 8x32c4", 32, 1);
  return k;
}

}  // namespace tinyqat
