// fp32 GEMM micro-kernel for generic: 4 rows × 2 vectors of 4 floats.
#include "runtime/kernels/sgemm.h"

namespace tinyqat {
namespace sgemm_generic {
#define TQ_VEC_BYTES 16
#define TQ_MR 4
#define TQ_NV 2
#include "runtime/kernels/sgemm_ukernel.inc"
}  // namespace sgemm_generic

const SgemmKernel& sgemm_kernel_generic() {
  static const SgemmKernel k{sgemm_generic::kMR, sgemm_generic::kNR, sgemm_generic::ukernel, "generic"};
  return k;
}

}  // namespace tinyqat
