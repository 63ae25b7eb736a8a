// Deterministic initial weights for the model zoo: identical on every machine and standard library.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/tensor.h"

namespace tinyqat::zoo {

// He-normal weights (fan-in = numel / shape[0]) from a 64-bit LCG through Box–Muller, times `gain`.
inline Tensor he_weights(const Shape& s, uint64_t& state, float gain) {
  Tensor t = Tensor::empty(DType::F32, s);
  const int64_t fan_in = t.numel() / s[0];
  const float sd = gain * std::sqrt(2.f / static_cast<float>(fan_in));
  auto uni = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (static_cast<float>(state >> 40) + 0.5f) / 16777216.f;
  };
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = sd * std::sqrt(-2.f * std::log(uni())) * std::cos(6.2831853f * uni());
  return t;
}

}  // namespace tinyqat::zoo
