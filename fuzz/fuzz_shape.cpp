// libFuzzer target for `--shape NAME=DxDx...` (bench): parse_shape must return a shape or a
// tinyqat::Error, and the tensor it describes must be size-checked (checked_numel) before anything is
// allocated — an absurd or overflowing shape is an Error, never a crash or a huge allocation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t eq = text.find('=');
  const std::string dims = eq == std::string::npos ? text : text.substr(eq + 1);
  try {
    tinyqat::Shape s = tinyqat::parse_shape(dims, "--shape");
    if (s.empty()) __builtin_trap();  // at least one dimension, or an Error
    const int64_t n = tinyqat::checked_numel(s, tinyqat::DType::F32);
    if (n < 0) __builtin_trap();
    if (n <= (int64_t(1) << 20)) {
      tinyqat::Tensor t = tinyqat::Tensor::zeros(tinyqat::DType::F32, s);
      if (t.numel() != n) __builtin_trap();
    }
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
