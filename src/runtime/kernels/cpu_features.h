// Which instruction set the kernels use, chosen once at run time. TINYQAT_ISA=avx512|avx2|generic forces
// a lower one (tests use it to exercise every path on one machine).
#pragma once

namespace tinyqat {

enum class Isa { Generic, Avx2, Avx512 };
Isa cpu_isa();
const char* isa_name(Isa isa);

}  // namespace tinyqat
