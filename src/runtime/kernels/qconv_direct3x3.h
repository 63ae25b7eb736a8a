// The single-input-channel 3×3 fast path of the direct int8 kernels (qconv_direct.inc, per ISA):
// depthwise convs (any channel multiplier) and single-channel stems, stride 1 or 2, no dilation. Unlike
// QConvDirect it reads the group's input plane as it is (no padded planes): x is one H×W plane of
// uint8 bytes (int8 input: flip = 0x80), zx the unsigned input zero point (padding). w: (w − zw) as
// int16, [mg][9]; o.row_add: the bias per output channel (o.row_zw unused); y: the first of the mg
// output planes; output rows [oy0, oy1) are written. `planes` consecutive groups are done in one call
// (group p: x + p·H·W, w + p·mg·9, o.row_add/row_mult + p·mg, y + p·mg output planes), so a depthwise
// conv pays the kernel's set-up once per call instead of once per channel. Exact like every int8 kernel (sums
// in int32 or in fp32 where that is exact, see conv3x3_rows.inc); results are the same bits on every ISA.
#pragma once
#include <cstdint>

#include "runtime/kernels/qgemm.h"

namespace tinyqat {

using QConvDirect3x3 = void (*)(const ConvGeometry& g, int64_t mg, const uint8_t* x, uint8_t flip, uint8_t zx,
                                const int16_t* w, const QOut& o, void* y, int64_t oy0, int64_t oy1,
                                int64_t planes);
extern const QConvDirect3x3 qconv_direct3x3_generic, qconv_direct3x3_avx2, qconv_direct3x3_avx512;
// The direct kernels compiled with AVX-512 VNNI: the 3×3 path sums with vpdpbusd when the weights fit
// int8 (and runs the fp32 path otherwise); the general direct kernel is the AVX-512 one.
extern const QConvDirect qconv_direct_avx512vnni;
extern const QConvDirect3x3 qconv_direct3x3_avx512vnni;

inline bool qconv_direct3x3_fits(const ConvGeometry& g) {
  return g.C == 1 && g.KH == 3 && g.KW == 3 && g.DH == 1 && g.DW == 1 && (g.SW == 1 || g.SW == 2) &&
         g.SH >= 1 && g.OH >= 1 && g.OW >= 1;
}

}  // namespace tinyqat
