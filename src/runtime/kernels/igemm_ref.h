// Exact integer GEMM on zero-point-adjusted operands: C[m, j] = sum_k A[m, k] · B[k, j] in int32, with
// A and B already widened to int16 (value − zero point). The portable path; the int8 issue brings
// VNNI/AVX2 kernels.
#pragma once
#include <cstdint>

namespace tinyqat {

// A: M×K row-major, B: K×N row-major (ldb), C: M×N (ldc).
void igemm_s16_ref(int64_t M, int64_t N, int64_t K, const int16_t* A, const int16_t* B, int64_t ldb,
                   int32_t* C, int64_t ldc);

}  // namespace tinyqat
