// The geometry of one 2-D convolution (1-D convs use H = 1), resolved for a concrete input shape.
#pragma once
#include <cstdint>

namespace tinyqat {

struct ConvGeometry {
  int64_t C = 0, H = 0, W = 0;     // input channels per group, height, width
  int64_t OH = 0, OW = 0;          // output height, width
  int64_t KH = 1, KW = 1;          // kernel
  int64_t SH = 1, SW = 1;          // strides
  int64_t DH = 1, DW = 1;          // dilations
  int64_t PT = 0, PL = 0;          // top/left padding (bottom/right follow from OH/OW)
  int64_t K() const { return C * KH * KW; }
  int64_t P() const { return OH * OW; }
};

// Packs im2col columns [p0, p0+width) (output pixels, `cols` of them valid) of one image group
// `x` (C×H×W) into out[k*width + j], k = (c, ky, kx); padding reads as `pad_value`.
template <typename T>
void im2col_pack(const ConvGeometry& g, const T* x, int64_t p0, int64_t cols, int width, T* out, T pad_value);

// Direct convolution of one output plane over g.C input planes x (C×H×W) with taps w (C×KH×KW):
// y = clamp(bias + sum w·x (+ y when accumulating), lo, hi).
void conv_direct_f32(const ConvGeometry& g, const float* x, const float* w, float bias, float* y, bool accumulate,
                     float lo, float hi);

}  // namespace tinyqat
