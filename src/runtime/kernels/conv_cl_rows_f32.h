// fp32 convolution from channels-last copies of the input rows ("cl rows"), for convs that slide one
// column at a time (stride 1 and no dilation across columns) with several input and output channels:
// the 3×3 16→16 … 64→64 convs of image-to-image models.
//
// Why: the GEMM path reads its im2col rows in place from the NCHW planes, so a 16-channel 3×3 conv
// streams 48 rows per output row, two of every three loads straddle cache lines, and it ran at 0.55–0.7×
// ONNX Runtime's NCHWc kernel on this kind of conv. Here each input row is transposed once into a small
// ring of channels-last rows (KH rows × width × C, cache-resident), and a register tile of pixels × two
// vectors of output channels (AVX2: 4–6 pixels × 16 channels; AVX-512: up to 12 pixels × 32) accumulates
// x[pixel][c] (one broadcast) × w[c][block] (two vectors) over (ky, kx, c):
// 3 memory streams per output row, no split loads. The tile's pixel-major results are transposed back to
// the output planes 8×8 at a time, then bias, residual and clamp plane by plane (docs/decisions/0001);
// into a channels-last output without a residual the tiles store straight away.
//
// Inside chains of channels-last images (fuse.h) it also takes column strides > 1, 1×1 windows and one
// input channel (nr_metric's stride-2 stem and pointwise convs): there the chain's alternative is
// transposing whole images, not the GEMM on planes.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

// Weights of one group packed for a kernel of `lanes` floats per vector (8: AVX2, 16: AVX-512): blocks of
// 2·lanes output channels (the last one `lanes` wide when M % (2·lanes) is 1..lanes), each laid out
// [ky][kx][c][block width], the lanes past M zero.
struct ConvClWeights {
  int64_t M = 0, C = 0, KH = 0, KW = 0;
  std::vector<float> data;
};
// w: M × C × KH × KW (ONNX layout); lanes: conv_cl_lanes() for the kernel conv_cl_f32() returns.
ConvClWeights conv_cl_pack(const float* w, int64_t M, int64_t C, int64_t KH, int64_t KW, int lanes);

// The part of conv_cl_applies that does not depend on the input's size: M outputs and C inputs per
// group, a KH×KW window, the column stride SW and the dilations.
bool conv_cl_takes(int64_t M, int64_t C, int64_t KH, int64_t KW, int64_t SW, int64_t DH, int64_t DW);
// The subset that runs here rather than on the GEMM when input, residual and output are all planes;
// the rest only inside chains of channels-last images (fuse.h).
bool conv_cl_takes_planes(int64_t M, int64_t C, int64_t KH, int64_t KW, int64_t SW, int64_t DH, int64_t DW);
// Whether the geometry is one this kernel computes (any CPU; conv_cl_f32() says whether it runs here);
// rows so wide that the scratch would pass 64 MiB per worker keep the GEMM.
bool conv_cl_applies(const ConvGeometry& g, int64_t M);
// Floats of scratch one call needs (one worker): the ring, a zero row, a row of tile results and its
// channel-major copy.
int64_t conv_cl_scratch(const ConvGeometry& g);

namespace conv_cl {
constexpr int kPixels = 6;     // pixels per AVX2 register tile; rows are computed in whole tiles of this
constexpr int kMaxBlock = 32;  // output channels per block, at most (two AVX-512 vectors; AVX2: 16)
constexpr int kMaxKH = 16;     // ring rows (a bound on what conv_cl_applies accepts)
struct Layout {
  int64_t tiles_w;  // output columns computed: OW rounded up to whole tiles
  int64_t ring_w;   // columns of one ring row: (tiles_w - 1)·SW + KW, rounded up to 8
  int64_t out_w;    // columns of the tile-results row: tiles_w rounded up to 8
};
Layout layout(const ConvGeometry& g);
}  // namespace conv_cl

// Which of the input x, the residual r and the output y are channels-last images (H×W×C, the runtime's
// chains of these convs: fuse.h kClIn/kClRes/kClOut) rather than planes (C×H×W).
struct ConvClLayout {
  bool x = false, r = false, y = false;
};
// Output rows [oy_begin, oy_end) of M = w.M channels y (OH×OW) from g.C channels x (H×W):
// y = clamp((conv(x, w) + r) + bias, lo, hi); r (y's shape) and bias may be null. The results do not
// depend on the layouts (bit for bit).
using ConvClF32 = void (*)(const ConvGeometry& g, const ConvClWeights& w, const float* x, const float* bias,
                           const float* r, float* y, int64_t oy_begin, int64_t oy_end, float lo, float hi,
                           float* scratch, ConvClLayout layout);
// Per ISA (w packed with 8 and 16 lanes).
extern const ConvClF32 conv_cl_f32_avx2, conv_cl_f32_avx512;
// The kernel for this CPU, or null where the GEMM path stays (see conv_cl_rows_f32.cpp), and the lanes
// its weights (and the channels-last depthwise kernel's, conv_dw_cl_f32.h) are packed with.
ConvClF32 conv_cl_f32();
int conv_cl_lanes();

}  // namespace tinyqat
