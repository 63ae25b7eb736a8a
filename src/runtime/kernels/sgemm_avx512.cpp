// fp32 GEMM micro-kernel for avx512: 8 rows × 2 vectors of 16 floats.
#include "runtime/kernels/sgemm.h"

namespace tinyqat {
namespace sgemm_avx512 {
#define TQ_VEC_BYTES 64
#define TQ_MR 8
#define TQ_NV 2
#include "runtime/kernels/sgemm_ukernel.inc"
}  // namespace sgemm_avx512

const SgemmKernel& sgemm_kernel_avx512() {
  static const SgemmKernel k{sgemm_avx512::kMR, sgemm_avx512::kNR, sgemm_avx512::ukernel, "avx512"};
  return k;
}

}  // namespace tinyqat
