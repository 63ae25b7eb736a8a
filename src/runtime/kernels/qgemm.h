// Exact integer GEMM and convolution for the quantized operators (QLinearConv, ConvInteger,
// QLinearMatMul, MatMulInteger), built like the fp32 path (sgemm.h): a register-tile micro-kernel per
// instruction set, weights packed once, activations read in place through one offset per k-group, the
// requantisation fused into the micro-kernel's epilogue. Decision and numbers:
// docs/decisions/0002-int8-kernels.md.
//
// What every micro-kernel computes, exactly, in wrapping int32 arithmetic:
//   acc[i, j] = Σ_k x̃[k, j] · w̃[i, k]        x̃ unsigned 0..255, w̃ signed −128..127
//   v[i, j]   = acc[i, j] + row_add[i] − row_zw[i] · Σ_k x̃[k, j]
// and then stores v as int32, or requantised `clamp(rne(float(v) · row_mult[i]), qlo − zp, qhi − zp) + zp`
// as uint8/int8 (the ONNX QLinearConv formula; numerics.h). Operands are brought to that form once:
// int8 activations are shifted by +128 (zero point too), uint8 weights by −128 (zero point too), and
// Σ(x − zx)(w − zw) = Σ x̃w̃ − zw·Σx̃ − zx·Σw̃ + K·zx·zw puts the zero-point terms into row_add/row_zw.
//
// Rows i are output channels, columns j are output pixels (a convolution) or rows of A (a MatMul,
// computed transposed: Cᵀ = Bᵀ·Aᵀ, so that weights are always the broadcast operand).
#pragma once
#include <cstdint>
#include <vector>

#include "core/numerics.h"
#include "runtime/kernels/conv_geometry.h"
#include "runtime/thread_pool.h"

namespace tinyqat {

// Epilogue of one micro-kernel call; the row pointers start at the tile's first row.
struct QOut {
  const int32_t* row_add = nullptr;    // required: bias and zero-point terms
  const int32_t* row_zw = nullptr;     // weight zero points; null when all are 0 (no column sums needed)
  const float* row_mult = nullptr;     // null: int32 output; else requantise to 8 bits
  int32_t zp = 0, qlo = 0, qhi = 255;  // output zero point and clamp (type range ∩ fused activation)
  bool out_s8 = false;
};

// B, the activations, is addressed per k-group g (kc consecutive k): the NR·kc bytes for the tile's
// columns start at b + b_off[g] (layout [column][kc]). A is one packed weight panel [g][MR][kc].
// C element (i, j) at C + (i·rs_c + j·cs_c)·(4 or 1 bytes). Only the mr × nr valid part is written.
using QGemmUkernel = void (*)(int64_t kgroups, const void* A, const uint8_t* b, const int64_t* b_off, void* C,
                              int64_t rs_c, int64_t cs_c, int mr, int nr, const QOut& o);

// Activation packing for a convolution: the k-interleaved, padded planes of one image group (see
// QConvLayout). Rows [r0, r1) of the C4·Hp rows are written.
struct QConvLayout;
using QPackX = void (*)(const QConvLayout& L, const uint8_t* x, int64_t r0, int64_t r1, uint8_t* out);
// A MatMul's A (M × K bytes, row-major) as k-groups of columns: rows [m0, m1) of [K/kc][Ms][kc], flipped
// to unsigned (flip 0x80 for int8), bytes past K read 0.
using QPackA = void (*)(const uint8_t* a, int64_t K, int64_t m0, int64_t m1, uint8_t flip, int64_t Ms,
                        uint8_t* out);

struct QGemmKernel {
  const char* name;
  int mr, nr, kc;                // tile rows × columns; k-group size (4: vpdpbusd, 2: vpmaddwd, 1: scalar)
  int w_bytes;                   // packed weight element: 1 (int8), 2 (int16) or 4 (int32)
  QGemmUkernel run, run_colsum;  // run_colsum also subtracts row_zw·Σx̃ (a nonzero weight zero point)
  QPackX pack_x;
  QPackA pack_a;
  // The same for a panel that holds one row (mr == 1): only that row is computed, not mr rows of which
  // the stores keep one.
  QGemmUkernel run_one, run_one_colsum;
  QGemmUkernel for_rows(int rows, bool colsum) const {
    return rows == 1 ? (colsum ? run_one_colsum : run_one) : (colsum ? run_colsum : run);
  }
};
const QGemmKernel& qgemm_kernel();  // for this CPU (cpu_isa(), cpu_has_avx512_vnni())
const QGemmKernel& qgemm_kernel_generic();
const QGemmKernel& qgemm_kernel_avx2();
const QGemmKernel& qgemm_kernel_avx512();             // AVX-512BW vpmaddwd (no VNNI)
const QGemmKernel& qgemm_kernel_avx512vnni();         // vpdpbusd
std::vector<const QGemmKernel*> qgemm_kernels_all();  // every compiled variant (tests)

// The padded, k-interleaved copy of one image group that a convolution's micro-kernel reads in place:
// byte (c4, yp, px, xq, t) holds channel c4·kc + t at padded row yp, padded column xq·SW + px (stride
// phases side by side), flipped to unsigned; padding reads as the (unsigned) input zero point, channels
// past C as 0. Every tap of a tile is then NR·kc contiguous bytes.
struct QConvLayout {
  ConvGeometry g;
  int kc = 4, nr = 32;
  int64_t C4 = 0, Hp = 0, Wq = 0;  // k-groups of channels, padded rows, columns per stride phase
  int64_t plane = 0, bytes = 0;    // bytes per channel group, total (with read slack)
  bool flat = false;               // tiles may span output rows (pointwise, no padding)
  uint8_t flip = 0, zx = 0;        // 0x80 for int8 input; unsigned input zero point
  int64_t row_bytes() const { return Wq * kc; }
};
QConvLayout qconv_layout(const ConvGeometry& g, int kc, int nr, bool x_signed, int32_t x_zero_point);
// Tap offsets b_off[g] (g = (c4, ky, kx)) relative to a tile's origin: byte (oy·SH·SW·Wq + ox0)·kc of
// the planes (flat layouts: p0·kc).
std::vector<int64_t> qconv_offsets(const QConvLayout& L);

// Weights of one group, packed for a micro-kernel: panels of MR output channels [g][MR][kc].
struct QPackedWeights {
  const QGemmKernel* kernel = nullptr;  // packed for
  int64_t M = 0, C = 0, KH = 1, KW = 1, kgroups = 0;
  int mr = 0;
  std::vector<uint8_t> data;  // panel p at data[p · kgroups · mr · kc · w_bytes]
  std::vector<int32_t> wsum;  // Σ_k w̃[m, k] per output channel
  std::vector<int32_t> zw;    // w̃ zero point per output channel
  bool any_zw = false;
  int64_t panel_bytes = 0;
  const uint8_t* panel(int64_t p) const { return data.data() + p * panel_bytes; }
};
// w: M × (C·KH·KW) in (c, ky, kx) order, element (m, k) at w[m·ldw + k]; int8 or uint8; zero points
// per output channel (1 value: per-tensor).
QPackedWeights qpack_weights(const QGemmKernel& k, const void* w, bool w_signed, int64_t M, int64_t C,
                             int64_t KH, int64_t KW, int64_t ldw, const std::vector<int32_t>& wzp);
// A MatMul's B [K, N] (row-major), packed as N output channels of K inputs.
QPackedWeights qpack_matmul_b(const QGemmKernel& k, const void* b, bool b_signed, int64_t K, int64_t N,
                              const std::vector<int32_t>& bzp);

// A convolution's weights, all groups: GEMM panels, or (w − zw) as int16 for the direct kernel.
struct QConvWeights {
  const QGemmKernel* kernel = nullptr;
  bool direct = false;
  std::vector<QPackedWeights> groups;
  std::vector<int16_t> w16;  // direct: [M][C·KH·KW]
};
// Depthwise and other tiny per-group problems (C·(M/group) ≤ 4), and single-input-channel 3×3 convs
// (stems), run a direct kernel; the 3×3 ones read the raw input rows (qconv_direct3x3.h), the others
// the padded planes below.
bool qconv_runs_direct(int64_t C_per_group, int64_t mg);
// w: [M, C, KH, KW] int8/uint8 (C per group); wzp: empty, 1 or M values. allow_direct = false packs
// for the GEMM path whatever the shape (tests).
QConvWeights qpack_conv_weights(const QGemmKernel& k, const void* w, bool w_signed, int64_t M, int64_t C,
                                int64_t KH, int64_t KW, int64_t group, const std::vector<int32_t>& wzp,
                                bool allow_direct = true);

// Requantisation of one operator (per output channel), or int32 output when mult is empty.
struct QRequant {
  std::vector<float> mult;  // 1 or M values
  int32_t zp = 0, qlo = 0, qhi = 255;
  bool out_s8 = false;
};

// The epilogue arrays of one packed weight block (a MatMul's B, or one convolution group), per output
// channel and padded so that any panel may read MR rows: bias and zero-point terms (row_add), weight
// zero points (row_zw) and multipliers. They depend on constants only (weights, input zero point, bias,
// requantisation), so an operator builds them once when those are constant.
struct QRowParams {
  std::vector<int32_t> add, zw;
  std::vector<float> mult;  // empty: int32 output
  int64_t zxu = 0;          // the unsigned input zero point they were built for
};
// Rows m0 … m0 + pw.M of the operator's bias and multipliers; zxu is the input zero point made unsigned
// (+128 for int8 input), K the sum length.
QRowParams qrow_params(const QPackedWeights& pw, int64_t m0, int64_t zxu, int64_t K, const int32_t* bias,
                       const QRequant* rq);
// The micro-kernel epilogue for the panel starting at row i0.
QOut qout_for(const QRowParams& rp, const QPackedWeights& pw, const QRequant* rq, int64_t i0);

// Depthwise / few-channel convolution other than the single-channel 3×3 case, run directly (per output
// channel, int32 accumulation), compiled per ISA. xp: the padded planes of QConvLayout with kc = 1 (C planes,
// unsigned, padding = L.zx); w: (w − zw) per output channel, [mg][C·KH·KW] int16. o.row_add is the bias,
// o.row_zw unused; y is the first of the mg output planes; output rows [oy0, oy1) are written.
using QConvDirect = void (*)(const QConvLayout& L, int64_t mg, const uint8_t* xp, const int16_t* w,
                             const QOut& o, void* y, int64_t oy0, int64_t oy1);
extern const QConvDirect qconv_direct_generic, qconv_direct_avx2, qconv_direct_avx512;
QConvDirect qconv_direct();  // for this CPU

struct QMatMulArgs {
  const QGemmKernel* kernel = nullptr;
  int64_t M = 0, K = 0, N = 0;  // A [M, K] · B [K, N]
  const uint8_t* a = nullptr;
  bool a_signed = false;
  int32_t azp = 0;
  const void* b = nullptr;
  bool b_signed = true;
  std::vector<int32_t> bzp;                // 1 or N
  const QPackedWeights* packed = nullptr;  // optional; used when packed for `kernel`
  const int32_t* bias = nullptr;           // [N] or null
  const QRequant* rq = nullptr;
  const QRowParams* rows = nullptr;  // optional: qrow_params of these weights, zero point, bias and rq
  void* y = nullptr;                 // [M, N]
};
void qmatmul(const QMatMulArgs& a, ThreadPool& pool);

// Element-wise loops of QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear, per ISA.
struct QElementwise {
  void (*minmax)(const float* x, int64_t n, float* lo, float* hi);  // widens [*lo, *hi]; NaN ignored
  // y = saturate(rne(x / scale) + zp) to [qlo, qhi]; NaN → zp.
  void (*quantize)(const float* x, int64_t n, float scale, int32_t zp, int32_t qlo, int32_t qhi, bool s8,
                   void* y);
  void (*dequantize)(const void* q, bool s8, int64_t n, float scale, int32_t zp, float* y);
  // QLinearAdd: y[i] = qlinear_add_value(a[i], b[i], p) (numerics.h), all three 8-bit of one type.
  void (*add)(const void* a, const void* b, bool s8, int64_t n, const QAddParams& p, void* y);
};
extern const QElementwise qelementwise_generic, qelementwise_avx2, qelementwise_avx512;
const QElementwise& qelementwise();

}  // namespace tinyqat
