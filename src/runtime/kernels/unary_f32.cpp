#include "runtime/kernels/unary_f32.h"

#include "runtime/kernels/cpu_features.h"

namespace tinyqat {

const UnaryF32& unary_f32() {
  static const UnaryF32& k = []() -> const UnaryF32& {
    switch (cpu_isa()) {
      case Isa::Avx512:
        return unary_f32_avx512;
      case Isa::Avx2:
        return unary_f32_avx2;
      default:
        return unary_f32_generic;
    }
  }();
  return k;
}

}  // namespace tinyqat
