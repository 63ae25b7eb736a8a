// fp32 matrix multiply C = A·B (+ bias) clamped to [lo, hi], built from a register-tile micro-kernel
// (MR rows × NR columns) per instruction set. Operands arrive as packed panels: A as MR-row panels
// Ap[k*MR + i], B as NR-column strips Bp[k*NR + j], zero-padded at the edges. Constant operands
// (weights) are packed once; the other side is packed on the fly by a callback, so a convolution
// can pack im2col columns directly from the image without materialising the whole matrix.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/thread_pool.h"

namespace tinyqat {

// One micro-kernel: full K loop for an MR×NR tile, C written at (rs_c, cs_c) strides for the valid
// mr×nr part. bias_m (per row) / bias_n (per column) may be null.
using SgemmUkernel = void (*)(int64_t K, const float* Ap, const float* Bp, float* C, int64_t rs_c, int64_t cs_c,
                              int mr, int nr, const float* bias_m, const float* bias_n, float lo, float hi);

struct SgemmKernel {
  int mr, nr;
  SgemmUkernel run;
  const char* name;
};
const SgemmKernel& sgemm_kernel();  // for this CPU (cpu_isa())
const SgemmKernel& sgemm_kernel_generic();
const SgemmKernel& sgemm_kernel_avx2();
const SgemmKernel& sgemm_kernel_avx512();

// Packs a panel from a strided matrix: element (r, k) at base[r*rs + k*ks]. `rows` valid of `width`.
void pack_panel(const float* base, int64_t rs, int64_t ks, int64_t rows, int64_t K, int width, float* out);

// A pre-packed operand: all panels of an M×K (or N×K for B) matrix, e.g. weights.
struct PackedPanels {
  int64_t rows = 0, K = 0;
  int width = 0;
  std::vector<float> data;  // panel p at data[p*K*width]
  const float* panel(int64_t p) const { return data.data() + p * K * width; }
};
PackedPanels pack_all(const float* base, int64_t rs, int64_t ks, int64_t rows, int64_t K, int width);

// Fills `out` (K × width) with the operand panel starting at row/column `start`; may return a
// pointer to pre-packed data instead of writing `out`.
using PanelSource = std::function<const float*(int64_t start, float* out)>;

struct SgemmArgs {
  int64_t M = 0, N = 0, K = 0;
  PanelSource a, b;
  float* C = nullptr;
  int64_t rs_c = 0, cs_c = 1;
  const float* bias_m = nullptr;
  const float* bias_n = nullptr;
  float lo = -__builtin_inff(), hi = __builtin_inff();
};
void sgemm(const SgemmArgs& args, ThreadPool& pool);

}  // namespace tinyqat
