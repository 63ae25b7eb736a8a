#include "runtime/kernels/interleave.h"

#include <cstring>

namespace tinyqat {
namespace {
// 16-byte vectors: GCC and Clang lower the constant shuffles to one unpack instruction each on any x86-64.
typedef uint8_t v16u8 __attribute__((vector_size(16)));
typedef float v4f __attribute__((vector_size(16)));

template <typename V>
V load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
void store(void* p, V v) {
  std::memcpy(p, &v, sizeof v);
}
}  // namespace

void interleave2(const uint8_t* a, const uint8_t* b, int64_t n, uint8_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const v16u8 x = load<v16u8>(a + i), y = load<v16u8>(b + i);
    store(dst + 2 * i, __builtin_shufflevector(x, y, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    store(dst + 2 * i + 16,
          __builtin_shufflevector(x, y, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
  }
  for (; i < n; ++i) dst[2 * i] = a[i], dst[2 * i + 1] = b[i];
}

void interleave2(const float* a, const float* b, int64_t n, float add, float* dst) {
  int64_t i = 0;
  const v4f va = v4f{} + add;
  for (; i + 4 <= n; i += 4) {
    const v4f x = load<v4f>(a + i) + va, y = load<v4f>(b + i) + va;
    store(dst + 2 * i, __builtin_shufflevector(x, y, 0, 4, 1, 5));
    store(dst + 2 * i + 4, __builtin_shufflevector(x, y, 2, 6, 3, 7));
  }
  for (; i < n; ++i) dst[2 * i] = a[i] + add, dst[2 * i + 1] = b[i] + add;
}

}  // namespace tinyqat
