// Float activations over arrays (vmath.inc), one set per instruction set, chosen for this CPU.
#pragma once
#include <cstdint>

namespace tinyqat {

using UnaryF32Fn = void (*)(const float* x, float* y, int64_t n);
struct UnaryF32 {
  UnaryF32Fn sigmoid, tanh, erf, gelu;  // gelu: the erf form, x/2 · (1 + erf(x/√2))
};
const UnaryF32& unary_f32();  // for this CPU (cpu_isa())
extern const UnaryF32 unary_f32_generic, unary_f32_avx2, unary_f32_avx512;

}  // namespace tinyqat
