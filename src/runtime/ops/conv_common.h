// Shared by the float and integer convolution operators: attribute validation and geometry.
#pragma once
#include "ir/graph.h"
#include "ir/op_math.h"
#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

struct ConvSpec {
  int64_t N, Cin, M, group;  // batch, input channels, output channels, groups
  ConvGeometry g;            // per group
};

// Validates x [N,C,(H),W] against w [M, C/group, (KH), KW] and the node's attributes.
ConvSpec conv_spec(const Node& n, const Shape& x, const Shape& w);

// Output geometry of a 2-D ConvTranspose on an H×W input with a KH×KW kernel (the ONNX rules: pads,
// auto_pad, output_padding, output_shape); pt/pl are the top/left pads actually applied.
struct ConvTransposeGeometry {
  int64_t H, W, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl;
  // Stride = kernel, no dilation, padding or output padding (2×2 / stride-2 upsampling): every output
  // pixel comes from exactly one column entry.
  bool tiles() const {
    return sh == KH && sw == KW && dh == 1 && dw == 1 && pt == 0 && pl == 0 && OH == H * KH && OW == W * KW;
  }
};
// The most entries a ConvTranspose's column buffer may hold (1 GiB of 4-byte entries); more is an Error.
inline constexpr double kMaxColumnEntries = double(int64_t(1) << 28);

ConvTransposeGeometry conv_transpose_geometry(const Node& n, int64_t H, int64_t W, int64_t KH, int64_t KW);

// col2im of one output channel: adds its KH·KW column planes (H×W each, one after the other) into the
// OH×OW plane y (which already holds the bias), each column entry where its tap lands.
template <typename T>
void col2im_add(const ConvTransposeGeometry& g, const T* planes, T* y) {
  for (int64_t ky = 0; ky < g.KH; ++ky)
    for (int64_t kx = 0; kx < g.KW; ++kx) {
      const T* cr = planes + (ky * g.KW + kx) * g.H * g.W;
      for (int64_t iy = 0; iy < g.H; ++iy) {
        const int64_t oy = iy * g.sh - g.pt + ky * g.dh;
        if (oy < 0 || oy >= g.OH) continue;
        for (int64_t ix = 0; ix < g.W; ++ix) {
          const int64_t ox = ix * g.sw - g.pl + kx * g.dw;
          if (ox >= 0 && ox < g.OW) y[oy * g.OW + ox] += cr[iy * g.W + ix];
        }
      }
    }
}

}  // namespace tinyqat
