// Float activations (vmath.inc) compiled for generic: vectors of 16 bytes.
#include <cstddef>
#include <cstdint>

#include "runtime/kernels/unary_f32.h"

namespace tinyqat {
namespace vmath_generic {
#define TQ_VEC_BYTES 16
#include "runtime/kernels/vmath.inc"
}  // namespace vmath_generic
const UnaryF32 unary_f32_generic = {vmath_generic::sigmoid, vmath_generic::tanh_, vmath_generic::erf_,
                                    vmath_generic::gelu};
}  // namespace tinyqat
