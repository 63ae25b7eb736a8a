// Direct fp32 convolution compiled for avx512.
#include <algorithm>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {
namespace conv_direct_avx512 {
#include "runtime/kernels/conv_direct_f32.inc"
}  // namespace conv_direct_avx512
const ConvDirectF32 conv_direct_f32_avx512 = conv_direct_avx512::conv_direct;
}  // namespace tinyqat
