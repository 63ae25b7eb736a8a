// Direct fp32 convolution compiled for avx2.
#include <algorithm>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {
namespace conv_direct_avx2 {
#include "runtime/kernels/conv_direct_f32.inc"
}  // namespace conv_direct_avx2
const ConvDirectF32 conv_direct_f32_avx2 = conv_direct_avx2::conv_direct;
}  // namespace tinyqat
