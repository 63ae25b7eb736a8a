// The integer convolution driver (QLinearConv, ConvInteger) around the int8 micro-kernels of qgemm.h,
// in XNNPACK's lifecycle: weights packed once (qpack_conv_weights), the epilogue built once from the
// constants (qconv_epilogue: bias, zero-point terms, requantisation), a plan per input shape
// (qconv_plan: which path, padded-plane layout, tap offsets, tiling), then runs that only bind pointers.
// Three paths, each in a file named by what it computes:
//   - qconv_direct3x3_loop.cpp: one input channel per group, 3×3 — straight from the input rows;
//   - qconv_direct_loop.cpp: other depthwise / tiny per-group problems — padded kc = 1 planes, direct kernel;
//   - qconv_gemm_loop.cpp: everything else — k-interleaved padded planes read in place by the GEMM tiles.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/qgemm.h"

namespace tinyqat {

struct QConvEpilogue;
struct QConvPlan;

struct QConvArgs {
  const QGemmKernel* kernel = nullptr;  // null: qgemm_kernel()
  QConvDirect direct = nullptr;         // null: qconv_direct()
  const ConvGeometry* g = nullptr;
  int64_t N = 1, group = 1, M = 0;  // images, groups, output channels (all groups)
  const uint8_t* x = nullptr;       // [N, Cin, H, W]
  bool x_signed = false;
  int32_t xzp = 0;
  const void* w = nullptr;  // [M, C, KH, KW] (to pack per run when `packed` is empty)
  bool w_signed = true;
  std::vector<int32_t> wzp;              // 1 or M
  const QConvWeights* packed = nullptr;  // optional; used when packed for `kernel`
  const int32_t* bias = nullptr;         // [M] or null
  const QRequant* rq = nullptr;          // null: int32 output
  void* y = nullptr;                     // [N, M, OH, OW]
  // Optional, built earlier for exactly these arguments (an operator's create and reshape steps);
  // computed for this call when null.
  const QConvEpilogue* epilogue = nullptr;
  const QConvPlan* plan = nullptr;
};

// The unsigned input zero point the kernels work with (int8 input is shifted by +128).
inline int64_t qconv_zxu(bool x_signed, int32_t xzp) {
  return xzp + (x_signed ? 128 : 0);
}

// What the epilogue adds and multiplies per output channel, from constants only. GEMM path: the row
// arrays of each group (qrow_params); direct paths: the bias and the multiplier of every output channel.
struct QConvEpilogue {
  std::vector<QRowParams> groups;  // GEMM path
  std::vector<int32_t> bias;       // direct paths: [M] (zeros without a bias)
  std::vector<float> mult;         // direct paths: [M]; empty for int32 output
  int64_t zxu = 0;                 // the unsigned input zero point it was built for
};
QConvEpilogue qconv_epilogue(const QConvWeights& W, int64_t M, int64_t K, int64_t zxu, const int32_t* bias,
                             const QRequant* rq);

// The plan for one input shape: the path, and for it the layout and the split into work items.
struct QConvPlan {
  enum class Path { Direct3x3, DirectPlanes, Gemm } path = Path::Gemm;
  // Direct3x3 and DirectPlanes: output rows per work item and row blocks per output plane.
  int64_t rows_per_item = 1, row_blocks = 1;
  // DirectPlanes: the planes of all input channels (L) and of one group (Lg).
  // Gemm: the k-interleaved planes of one group, the tap offsets and the tiles.
  QConvLayout L, Lg;
  std::vector<int64_t> offsets;
  int64_t tiles_per_row = 0, n_tiles = 0, panels = 0;
};
// `threads`: the pool's size (work is split to give every thread some). The layout's zero-point bytes
// (flip, zx) are those of `a`; the loops set them from their own arguments.
QConvPlan qconv_plan(const QConvArgs& a, const QConvWeights& W, const QGemmKernel& k, int threads);

// Runs the convolution (pack weights, epilogue and plan for this call unless `a` brings them).
void qconv(const QConvArgs& a, ThreadPool& pool);

// The three loops, given the weights, epilogue and plan made for `a` (qconv() picks the one of the plan).
void qconv_direct3x3_loop(const QConvArgs& a, const QConvWeights& W, const QConvEpilogue& E,
                          const QConvPlan& P, ThreadPool& pool);
void qconv_direct_loop(const QConvArgs& a, const QConvWeights& W, const QConvEpilogue& E, const QConvPlan& P,
                       ThreadPool& pool);
void qconv_gemm_loop(const QConvArgs& a, const QConvWeights& W, const QConvEpilogue& E, const QConvPlan& P,
                     const QGemmKernel& k, ThreadPool& pool);

}  // namespace tinyqat
