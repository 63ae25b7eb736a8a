// Float activations (vmath.inc) compiled for avx2: vectors of 32 bytes.
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/unary_f32.h"

namespace tinyqat {
namespace vmath_avx2 {
#define TQ_VEC_BYTES 32
#include "runtime/kernels/vmath.inc"
}  // namespace vmath_avx2
const UnaryF32 unary_f32_avx2 = {vmath_avx2::sigmoid, vmath_avx2::tanh_, vmath_avx2::erf_, vmath_avx2::gelu};
}  // namespace tinyqat
