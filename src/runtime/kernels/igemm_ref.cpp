#include "runtime/kernels/igemm_ref.h"

#include <algorithm>

namespace tinyqat {

void igemm_s16_ref(int64_t M, int64_t N, int64_t K, const int16_t* A, const int16_t* B, int64_t ldb,
                   int32_t* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m) {
    int32_t* c = C + m * ldc;
    std::fill(c, c + N, 0);
    for (int64_t k = 0; k < K; ++k) {
      const int32_t a = A[m * K + k];
      if (a == 0) continue;
      const int16_t* b = B + k * ldb;
      for (int64_t j = 0; j < N; ++j) c[j] += a * static_cast<int32_t>(b[j]);
    }
  }
}

}  // namespace tinyqat
