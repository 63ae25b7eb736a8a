#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/cpu_features.h"

namespace tinyqat {

ConvDirectF32 conv_direct_f32() {
  static const ConvDirectF32 fn = cpu_isa() == Isa::Avx512 ? conv_direct_f32_avx512
                                  : cpu_isa() == Isa::Avx2 ? conv_direct_f32_avx2
                                                           : conv_direct_f32_generic;
  return fn;
}

}  // namespace tinyqat
