// Which instruction set the kernels use, chosen once at run time. TINYQAT_ISA=avx512|avx2|generic forces
// a lower one (tests use it to exercise every path on one machine); TINYQAT_ISA=avx512 also turns off
// AVX-512 VNNI, which only the int8 kernels use (cpu_has_avx512_vnni()).
#pragma once

namespace tinyqat {

enum class Isa { Generic, Avx2, Avx512 };
Isa cpu_isa();
const char* isa_name(Isa isa);
// AVX-512 VNNI (vpdpbusd) on top of cpu_isa() == Isa::Avx512, and not turned off by TINYQAT_ISA.
bool cpu_has_avx512_vnni();

}  // namespace tinyqat
