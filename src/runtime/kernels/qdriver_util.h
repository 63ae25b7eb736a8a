// Small helpers shared by the int8 drivers (qgemm.cpp and the qconv_*_loop.cpp files).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/tensor.h"
#include "runtime/kernels/qgemm.h"

namespace tinyqat::qdriver {

// b == 0 (a plane of width 0: an empty input) gives 0, no tile (fuzz/fuzz_c_api.cpp found the division).
inline int64_t ceil_div(int64_t a, int64_t b) {
  return b > 0 ? (a + b - 1) / b : 0;
}

// Scratch bytes from the executor's buffer pool when one is active (no page faults per run).
inline Tensor scratch_bytes(int64_t n) {
  return Tensor::empty(DType::U8, {std::max<int64_t>(n, 1)});
}

// Packed planes for a convolution. Ragged tiles read past the last plane into the slack; those lanes are
// never stored, but the slack is zeroed so that no uninitialised byte enters a computation (memcheck).
inline Tensor conv_scratch(const QConvLayout& L) {
  Tensor t = scratch_bytes(L.bytes);
  const int64_t used = L.C4 * L.plane;
  std::memset(t.data<uint8_t>() + used, 0, static_cast<size_t>(L.bytes - used));
  return t;
}

}  // namespace tinyqat::qdriver
