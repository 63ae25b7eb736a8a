// fp32 GEMM micro-kernel for avx2: 6 rows × 2 vectors of 8 floats.
#include "runtime/kernels/sgemm.h"

namespace tinyqat {
namespace sgemm_avx2 {
#define TQ_VEC_BYTES 32
#define TQ_MR 6
#define TQ_NV 2
#include "runtime/kernels/sgemm_ukernel.inc"
}  // namespace sgemm_avx2

const SgemmKernel& sgemm_kernel_avx2() {
  static const SgemmKernel k{sgemm_avx2::kMR, sgemm_avx2::kNR, sgemm_avx2::ukernel, "avx2"};
  return k;
}

}  // namespace tinyqat
