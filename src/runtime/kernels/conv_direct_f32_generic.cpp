// Direct fp32 convolution compiled for generic.
#include <algorithm>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {
namespace conv_direct_generic {
#include "runtime/kernels/conv_direct_f32.inc"
}  // namespace conv_direct_generic
const ConvDirectF32 conv_direct_f32_generic = conv_direct_generic::conv_direct;
}  // namespace tinyqat
