// The geometry of one 2-D convolution (1-D convs use H = 1), resolved for a concrete input shape.
#pragma once
#include <algorithm>
#include <cstdint>

namespace tinyqat {

struct ConvGeometry {
  int64_t C = 0, H = 0, W = 0;  // input channels per group, height, width
  int64_t OH = 0, OW = 0;       // output height, width
  int64_t KH = 1, KW = 1;       // kernel
  int64_t SH = 1, SW = 1;       // strides
  int64_t DH = 1, DW = 1;       // dilations
  int64_t PT = 0, PL = 0;       // top/left padding (bottom/right follow from OH/OW)
  int64_t K() const { return C * KH * KW; }
  int64_t P() const { return OH * OW; }
};

// How many blocks of output rows each of `items` work units (images, groups) is split into when
// `threads` workers share them: about two work items per thread, between 1 and `most` blocks; one
// block on one thread.
inline int64_t conv_row_blocks(int64_t threads, int64_t items, int64_t most) {
  return threads > 1 ? std::clamp<int64_t>((2 * threads + items - 1) / items, 1, most) : 1;
}

// Packs im2col columns [p0, p0+width) (output pixels, `cols` of them valid) of one image group
// `x` (C×H×W) into out[k*width + j], k = (c, ky, kx); padding reads as `pad_value`.
template <typename T>
void im2col_pack(const ConvGeometry& g, const T* x, int64_t p0, int64_t cols, int width, T* out, T pad_value);

// Direct convolution of one group: M output planes (y, OH×OW each) from g.C input planes x (C×H×W)
// with taps w (M×C×KH×KW), output rows [oy_begin, oy_end):
// y = clamp(bias + sum w·x (+ r, residual planes laid out like y, when not null), lo, hi).
// `scratch` holds conv_direct_scratch(g, rows) floats for a block of `rows` output rows.
using ConvDirectF32 = void (*)(const ConvGeometry& g, int64_t M, const float* x, const float* w,
                               const float* bias, const float* r, float* y, int64_t oy_begin, int64_t oy_end,
                               float lo, float hi, float* scratch);
extern const ConvDirectF32 conv_direct_f32_generic, conv_direct_f32_avx2, conv_direct_f32_avx512;
ConvDirectF32 conv_direct_f32();  // for this CPU
// Row pitch of the phase planes, and the scratch a block of `rows` output rows needs.
inline int64_t conv_direct_pitch(const ConvGeometry& g) {
  return g.OW + ((g.KW - 1) * g.DW) / g.SW + 1;
}
inline int64_t conv_direct_scratch(const ConvGeometry& g, int64_t rows) {
  const int64_t prow = rows + ((g.KH - 1) * g.DH) / g.SH + 1;
  return g.C * g.SH * g.SW * prow * conv_direct_pitch(g) + rows * conv_direct_pitch(g) + 16;
}

}  // namespace tinyqat
