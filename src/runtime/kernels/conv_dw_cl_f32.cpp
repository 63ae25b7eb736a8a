// Weight packing and the selection per CPU of the channels-last depthwise conv.
#include "runtime/kernels/conv_dw_cl_f32.h"

#include <cstddef>

#include "runtime/kernels/cpu_features.h"

namespace tinyqat {

bool conv_dw_cl_takes(int64_t group, int64_t M, int64_t Cg, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t DH, int64_t DW) {
  // Strides 1 and 2: those of the planes path's 3×3 kernel, whose bits this one gives.
  return group >= 4 && M == group && Cg == 1 && KH == 3 && KW == 3 && SH >= 1 && SH <= 2 && SW >= 1 &&
         SW <= 2 && DH == 1 && DW == 1;
}

ConvDwClWeights conv_dw_cl_pack(const float* w, int64_t C, int lanes) {
  ConvDwClWeights p;
  p.C = C;
  p.data.assign(static_cast<size_t>((C + lanes - 1) / lanes * 9 * lanes), 0.f);  // lanes past C stay 0
  for (int64_t c = 0; c < C; ++c)
    for (int t = 0; t < 9; ++t) p.data[(c / lanes * 9 + t) * lanes + c % lanes] = w[c * 9 + t];
  return p;
}

ConvDwClF32 conv_dw_cl_f32() {
  // With the channels-last-rows conv (conv_cl_rows_f32.cpp): the chains it runs in.
  static const ConvDwClF32 fn = cpu_isa() == Isa::Avx512 ? conv_dw_cl_f32_avx512
                                : cpu_isa() == Isa::Avx2 ? conv_dw_cl_f32_avx2
                                                         : nullptr;
  return fn;
}

}  // namespace tinyqat
