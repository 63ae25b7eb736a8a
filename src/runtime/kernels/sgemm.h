// fp32 matrix multiply C = A·B (+ bias) clamped to [lo, hi], built from a register-tile micro-kernel
// (up to MR rows × NR columns) per instruction set. M is split into panels of at most MR rows, as even
// as possible (sgemm_panel: M = 16 with MR = 6 gives 6, 5, 5 — no padded rows are computed); A arrives
// as packed panels Ap[k*rows + i] of each panel's own height, or is read in place; B as
// one pointer per k to NR contiguous floats. Those rows may sit in a packed strip (weights packed
// once, or im2col columns packed on the fly) or point straight into the image: a stride-1
// convolution reads most of its im2col rows in place ("indirect" GEMM) and packs only at borders.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/thread_pool.h"

namespace tinyqat {

// One micro-kernel: full K loop for an mr×NR tile (mr ≤ MR: the kernel is compiled per row count), C
// written at (rs_c, cs_c) strides for the valid mr×nr part: C = clamp(A·B + bias (+ R), lo, hi). bias_m (per
// row), bias_n (per column) and the residual R (laid out like C) may be null. A element (i, k) is read at
// A[i*a_rs + k*a_ks]: a packed panel has (1, mr), a row-major matrix (K, 1).
using SgemmUkernel = void (*)(int64_t K, const float* A, int64_t a_rs, int64_t a_ks,
                              const float* const* Brows, float* C, int64_t rs_c, int64_t cs_c, int mr, int nr,
                              const float* bias_m, const float* bias_n, const float* R, float lo, float hi);

struct SgemmKernel {
  int mr, nr;
  SgemmUkernel run;
  const char* name;
};
const SgemmKernel& sgemm_kernel();  // for this CPU (cpu_isa())
const SgemmKernel& sgemm_kernel_generic();
const SgemmKernel& sgemm_kernel_avx2();
const SgemmKernel& sgemm_kernel_avx512();

// Panel p (of ceil(M / mr)) of the even split of M rows: its first row and row count.
void sgemm_panel(int64_t M, int mr, int64_t p, int64_t* i0, int* rows);

// Packs a panel from a strided matrix: element (r, k) at base[r*rs + k*ks]. `rows` valid of `width`.
void pack_panel(const float* base, int64_t rs, int64_t ks, int64_t rows, int64_t K, int width, float* out);

// A pre-packed left operand (e.g. weights): the panels of sgemm_panel, each `rows` wide, back to back.
struct PackedA {
  int64_t M = 0, K = 0;
  std::vector<float> data;  // the panel starting at row i0 at data[i0*K]
  const float* panel(int64_t i0) const { return data.data() + i0 * K; }
};
PackedA pack_a(const float* base, int64_t rs, int64_t ks, int64_t M, int64_t K);

// A pre-packed right operand: NR-wide strips of an N×K matrix (the last one zero-padded).
struct PackedPanels {
  int64_t rows = 0, K = 0;
  int width = 0;
  std::vector<float> data;  // panel p at data[p*K*width]
  const float* panel(int64_t p) const { return data.data() + p * K * width; }
};
PackedPanels pack_all(const float* base, int64_t rs, int64_t ks, int64_t rows, int64_t K, int width);

// Fills `out` (K × rows) with the A panel of `rows` rows starting at row `start`; may return a pointer
// to pre-packed data (laid out the same) instead of writing `out`.
using PanelSource = std::function<const float*(int64_t start, int rows, float* out)>;
// Sets rows[k] (k < K) for the B columns [j0, j0 + nr); `buf` (K × NR floats) is scratch to pack into.
using BRowSource = std::function<void(int64_t j0, int nr, float* buf, const float** rows)>;
// rows[k] = strip + k*width: the rows of a packed strip.
void packed_rows(const float* strip, int64_t K, int width, const float** rows);
// A B source over a row-major/strided matrix: element (k, j) at base[k*ks + j*js].
BRowSource strided_b(const float* base, int64_t ks, int64_t js, int64_t N, int64_t K);
// A B source over pre-packed strips.
BRowSource prepacked_b(const PackedPanels& p);

struct SgemmArgs {
  int64_t M = 0, N = 0, K = 0;
  // A either as panels from a source, or read in place (element (i, k) at a_direct[i*a_rs + k*a_ks]).
  PanelSource a;
  const float* a_direct = nullptr;
  int64_t a_rs = 0, a_ks = 0;
  BRowSource b;
  // Column tiles: by default NR-wide strips over [0, N). A convolution tiles per output row instead,
  // so that a tile never spans two rows of the image.
  int64_t n_tiles = -1;
  std::function<void(int64_t t, int64_t* j0, int* nr)> tile;
  float* C = nullptr;
  int64_t rs_c = 0, cs_c = 1;
  const float* bias_m = nullptr;
  const float* bias_n = nullptr;
  const float* R = nullptr;  // a residual laid out like C, added before clamping (a fused Add)
  float lo = -__builtin_inff(), hi = __builtin_inff();
};
void sgemm(const SgemmArgs& args, ThreadPool& pool);

}  // namespace tinyqat
