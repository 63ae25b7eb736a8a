// Depthwise 3×3 fp32 convolution on channels-last images (H×W×C): one output vector is 8 (AVX2) or 16
// (AVX-512) channels of one pixel, the nine taps are nine loads at the pixel's window (a column stride is a
// pointer step), no shuffles. The planes path (conv3x3_rows.inc) has to split stride-2 rows into their even
// and odd columns first, two shuffles per vector on the FMA ports: nr_metric_v1's stride-2 depthwise convs
// took 1.4–1.6× ONNX Runtime's NCHWc kernel there (docs/benchmarks.md). Runs inside chains of
// channels-last images (fuse.h mark_channels_last), between channels-last-rows convs.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

// Whether the kernel takes a Conv with `group` groups, M outputs and a weight M × Cg × KH × KW: one
// channel per group (4 or more) and one output per channel, a 3×3 window with strides 1 or 2 and no
// dilation. Channels go in blocks of one vector's lanes, the last one masked when C is not a multiple.
bool conv_dw_cl_takes(int64_t group, int64_t M, int64_t Cg, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t DH, int64_t DW);

// Taps packed per block of `lanes` channels: [block][tap ky·3 + kx][lane], lanes past C zero.
struct ConvDwClWeights {
  int64_t C = 0;
  std::vector<float> data;
};
// w: C × 1 × 3 × 3 (ONNX layout); lanes: conv_cl_lanes() (conv_cl_rows_f32.h), the lanes of this CPU's
// channels-last kernels, both chosen by the same ISA.
ConvDwClWeights conv_dw_cl_pack(const float* w, int64_t C, int lanes);

// Output rows [oy_begin, oy_end) of one image: y (OH×OW×C) = clamp(bias + conv(x, w), lo, hi) from x
// (H×W×C); g is one group's geometry (g.C = 1). Each vector sums its taps in the order of the planes
// path (conv3x3_rows.inc r3_sum9), so both give the same bits; NaN stays NaN through the clamp.
using ConvDwClF32 = void (*)(const ConvGeometry& g, const ConvDwClWeights& w, const float* x,
                             const float* bias, float* y, int64_t oy_begin, int64_t oy_end, float lo,
                             float hi);
// Per ISA (w packed with 8 and 16 lanes).
extern const ConvDwClF32 conv_dw_cl_f32_avx2, conv_dw_cl_f32_avx512;
// The kernel for this CPU, or null (the channels-last chains exist where conv_cl_f32() is not null).
ConvDwClF32 conv_dw_cl_f32();

}  // namespace tinyqat
