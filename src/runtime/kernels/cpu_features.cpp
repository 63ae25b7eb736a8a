#include "runtime/kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace tinyqat {

static Isa detect() {
  __builtin_cpu_init();
  Isa best = Isa::Generic;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (best == Isa::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    best = Isa::Avx512;
  if (const char* want = std::getenv("TINYQAT_ISA")) {
    Isa w = best;
    if (!std::strcmp(want, "generic"))
      w = Isa::Generic;
    else if (!std::strcmp(want, "avx2"))
      w = Isa::Avx2;
    else if (!std::strcmp(want, "avx512"))
      w = Isa::Avx512;
    if (static_cast<int>(w) < static_cast<int>(best)) best = w;  // never above what the CPU has
  }
  return best;
}

Isa cpu_isa() {
  static const Isa isa = detect();
  return isa;
}

bool cpu_has_avx512_vnni() {
  static const bool vnni = [] {
    if (cpu_isa() != Isa::Avx512 || !__builtin_cpu_supports("avx512vnni")) return false;
    const char* want = std::getenv("TINYQAT_ISA");
    return !want || std::strcmp(want, "avx512") != 0;
  }();
  return vnni;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    case Isa::Generic:
      return "generic";
  }
  return "?";
}

}  // namespace tinyqat
