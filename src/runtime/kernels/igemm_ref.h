// Exact integer references, kept plain on purpose: the tests hold every int8 kernel (qgemm.h) against
// them. C[m, j] = sum_k A[m, k] · B[k, j] in int32, with A and B already widened to int16
// (value − zero point); qconv_ref() is a whole integer convolution built on it.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

// A: M×K row-major, B: K×N row-major (ldb), C: M×N (ldc).
void igemm_s16_ref(int64_t M, int64_t N, int64_t K, const int16_t* A, const int16_t* B, int64_t ldb,
                   int32_t* C, int64_t ldc);

// acc [N, M, OH·OW] = Σ (x − xzp)(w − wzp[m]) over each group's C·KH·KW inputs; padding reads as xzp.
// x: [N, C·group, H, W], w: [M, C, KH, KW], 8-bit (signed or not); wzp: 1 or M values.
void qconv_ref(const ConvGeometry& g, int64_t N, int64_t group, int64_t M, const void* x, bool x_signed,
               int32_t xzp, const void* w, bool w_signed, const std::vector<int32_t>& wzp, int32_t* acc);

}  // namespace tinyqat
