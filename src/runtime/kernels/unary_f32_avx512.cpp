// Float activations (vmath.inc) compiled for avx512: vectors of 64 bytes.
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/unary_f32.h"

namespace tinyqat {
namespace vmath_avx512 {
#define TQ_VEC_BYTES 64
#include "runtime/kernels/vmath.inc"
}  // namespace vmath_avx512
const UnaryF32 unary_f32_avx512 = {vmath_avx512::sigmoid, vmath_avx512::tanh_, vmath_avx512::erf_,
                                   vmath_avx512::gelu};
}  // namespace tinyqat
