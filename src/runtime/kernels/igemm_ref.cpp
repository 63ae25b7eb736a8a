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

static int32_t int8_at(const void* p, bool is_signed, int64_t i) {
  return is_signed ? static_cast<const int8_t*>(p)[i] : static_cast<const uint8_t*>(p)[i];
}

void qconv_ref(const ConvGeometry& g, int64_t N, int64_t group, int64_t M, const void* x, bool x_signed,
               int32_t xzp, const void* w, bool w_signed, const std::vector<int32_t>& wzp, int32_t* acc) {
  const int64_t mg = M / group, K = g.K(), P = g.P(), plane = g.C * g.H * g.W;
  std::vector<int16_t> wq(static_cast<size_t>(M * K));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k)
      wq[m * K + k] = static_cast<int16_t>(int8_at(w, w_signed, m * K + k) - wzp[wzp.size() == 1 ? 0 : m]);
  std::vector<int16_t> xs(static_cast<size_t>(plane)), col(static_cast<size_t>(K * P));
  for (int64_t nb = 0; nb < N; ++nb)
    for (int64_t gi = 0; gi < group; ++gi) {
      const int64_t xoff = (nb * group + gi) * plane;
      for (int64_t i = 0; i < plane; ++i) xs[i] = static_cast<int16_t>(int8_at(x, x_signed, xoff + i) - xzp);
      im2col_pack<int16_t>(g, xs.data(), 0, P, static_cast<int>(P), col.data(), int16_t(0));
      igemm_s16_ref(mg, P, K, wq.data() + gi * mg * K, col.data(), P, acc + (nb * M + gi * mg) * P, P);
    }
}

}  // namespace tinyqat
