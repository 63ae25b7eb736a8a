// Measured throughput of this core for vpdpbusd zmm (int8, 64 MACs each) and vfmadd231ps zmm (fp32,
// 16 FMAs each): 20 independent accumulator chains, so only the issue rate limits.
#include <immintrin.h>

#include <chrono>
#include <cstdio>

#define R20(X) \
  X(0)         \
  X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)

int main() {
  const long iters = 50000000;
  {
#define DECL(i) __m512i a##i = _mm512_set1_epi32(i);
    R20(DECL)
    __m512i x = _mm512_set1_epi32(0x01020304), y = _mm512_set1_epi32(0x05060708);
    auto t0 = std::chrono::steady_clock::now();
    for (long it = 0; it < iters; ++it) {
#define OP(i) asm volatile("vpdpbusd %2, %1, %0" : "+v"(a##i) : "v"(x), "v"(y));
      R20(OP)
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    __m512i sum = _mm512_setzero_si512();
#define SUM(i) sum = _mm512_add_epi32(sum, a##i);
    R20(SUM)
    double macs = double(iters) * 20 * 64;
    std::printf("vpdpbusd zmm: %.1f GMAC/s = %.1f int8 MACs/cycle at 2.6 GHz (%.2f instr/cycle) [%d]\n",
                macs / s / 1e9, macs / s / 2.6e9, macs / 64 / s / 2.6e9, _mm512_reduce_add_epi32(sum));
  }
  {
#define DECLF(i) __m512 f##i = _mm512_set1_ps(i);
    R20(DECLF)
    __m512 x = _mm512_set1_ps(1.0001f), y = _mm512_set1_ps(0.9999f);
    auto t0 = std::chrono::steady_clock::now();
    for (long it = 0; it < iters; ++it) {
#define OPF(i) asm volatile("vfmadd231ps %2, %1, %0" : "+v"(f##i) : "v"(x), "v"(y));
      R20(OPF)
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    __m512 sum = _mm512_setzero_ps();
#define SUMF(i) sum = _mm512_add_ps(sum, f##i);
    R20(SUMF)
    double fl = double(iters) * 20 * 16;
    std::printf("vfmadd231ps zmm: %.1f GFMA/s = %.1f fp32 FMAs/cycle at 2.6 GHz (%.2f instr/cycle) [%g]\n",
                fl / s / 1e9, fl / s / 2.6e9, fl / 16 / s / 2.6e9, _mm512_reduce_add_ps(sum));
  }
}
