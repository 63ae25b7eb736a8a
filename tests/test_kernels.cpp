// Every compiled kernel variant against a plain reference, whichever ISA this machine picks at run
// time (variants the CPU cannot run are skipped, with a line saying so).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/kernels/conv_cl_rows_f32.h"
#include "runtime/kernels/conv_dw_cl_f32.h"
#include "runtime/kernels/conv_geometry.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/interleave.h"
#include "runtime/kernels/sgemm.h"
#include "runtime/kernels/unary_f32.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

bool runnable(Isa isa) {
  __builtin_cpu_init();
  if (isa == Isa::Avx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (isa == Isa::Avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}

struct Variant {
  Isa isa;
  const SgemmKernel* gemm;
  ConvDirectF32 direct;
  const UnaryF32* unary;
};
std::vector<Variant> variants() {
  return {{Isa::Generic, &sgemm_kernel_generic(), conv_direct_f32_generic, &unary_f32_generic},
          {Isa::Avx2, &sgemm_kernel_avx2(), conv_direct_f32_avx2, &unary_f32_avx2},
          {Isa::Avx512, &sgemm_kernel_avx512(), conv_direct_f32_avx512, &unary_f32_avx512}};
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Sigmoid, Tanh, Erf and GELU (vmath.inc) against double-precision <cmath> on every 97th float of
// [−30, 30] (both signs, denormals included), odd lengths (the vector tail), and the special values.
TEST(Kernels, ActivationsMatchCmathOnEveryPath) {
  std::vector<float> xs;
  for (uint32_t u = 0; u < 0x41f00000u; u += 97) xs.push_back(from_bits(u)), xs.push_back(-from_bits(u));
  xs.pop_back();  // an odd count
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> special{std::nanf(""), inf, -inf, 0.f, -0.f, 1e-40f, -1e-40f, 100.f, -100.f};
  for (const Variant& v : variants()) {
    if (!runnable(v.isa)) {
      std::printf("SKIP: %s activations (CPU lacks the ISA)\n", isa_name(v.isa));
      continue;
    }
    struct Case {
      const char* name;
      UnaryF32Fn f;
      double (*ref)(double);
      std::vector<float> want;  // for `special`
    };
    const double nan = std::nan("");
    const std::vector<Case> cases{{"sigmoid",
                                   v.unary->sigmoid,
                                   [](double x) { return 1 / (1 + std::exp(-x)); },
                                   {float(nan), 1, 0, 0.5f, 0.5f, 0.5f, 0.5f, 1, 0}},
                                  {"tanh",
                                   v.unary->tanh,
                                   [](double x) { return std::tanh(x); },
                                   {float(nan), 1, -1, 0, -0.f, 1e-40f, -1e-40f, 1, -1}},
                                  {"erf",
                                   v.unary->erf,
                                   [](double x) { return std::erf(x); },
                                   {float(nan), 1, -1, 0, -0.f, 0, -0.f, 1, -1}},
                                  {"gelu",
                                   v.unary->gelu,
                                   [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
                                   {float(nan), inf, float(nan), 0, -0.f, 0, -0.f, 100, -0.f}}};
    for (const Case& c : cases) {
      std::vector<float> y(xs.size());
      c.f(xs.data(), y.data(), static_cast<int64_t>(xs.size()));
      for (size_t i = 0; i < xs.size(); ++i) {
        const double x = xs[i], ref = c.ref(x), err = std::fabs(y[i] - ref);
        // Relative for erf, tanh and sigmoid (above the normal range's end), absolute in x for GELU
        // (its 1 + erf cancels for x < −5, exactly as in the unfused graph).
        const double tol = c.f == v.unary->gelu                 ? 3e-7 * std::max(1.0, std::fabs(x))
                           : c.f == v.unary->sigmoid && x < -87 ? 1.2e-38
                                                                : 3e-7 * std::fabs(ref) + 3e-45;
        ASSERT_LE(err, tol) << isa_name(v.isa) << " " << c.name << "(" << x << ") = " << y[i] << ", want "
                            << ref;
      }
      std::vector<float> ys(special.size());
      c.f(special.data(), ys.data(), static_cast<int64_t>(special.size()));
      for (size_t i = 0; i < special.size(); ++i) {
        if (std::isnan(c.want[i])) {
          EXPECT_TRUE(std::isnan(ys[i])) << isa_name(v.isa) << " " << c.name << "(" << special[i] << ")";
        } else if (std::fabs(c.want[i]) < 1e-30f) {
          EXPECT_LE(std::fabs(ys[i]), 1e-39f) << isa_name(v.isa) << " " << c.name << "(" << special[i] << ")";
        } else {
          EXPECT_FLOAT_EQ(ys[i], c.want[i]) << isa_name(v.isa) << " " << c.name << "(" << special[i] << ")";
        }
      }
    }
  }
}

TEST(Kernels, SgemmMicroKernelMatchesReference) {
  for (const Variant& v : variants()) {
    if (!runnable(v.isa)) {
      std::printf("SKIP: %s kernels (CPU lacks the ISA)\n", isa_name(v.isa));
      continue;
    }
    const SgemmKernel& uk = *v.gemm;
    Rng rng(3);
    for (int64_t K : {1, 7, 64}) {
      // Every row count: a panel of mr rows is packed mr wide (A[k*mr + i]) and runs the kernel compiled
      // for exactly mr rows.
      for (int mr = 1; mr <= uk.mr; ++mr) {
        for (int nr : {uk.nr, 3}) {
          std::vector<float> A(K * mr), B(K * uk.nr), bias_m(uk.mr), bias_n(uk.nr), R(uk.mr * 64);
          for (auto& x : A) x = rng.uniform(-1, 1);
          for (auto& x : B) x = rng.uniform(-1, 1);
          for (auto& x : bias_m) x = rng.uniform(-1, 1);
          for (auto& x : bias_n) x = rng.uniform(-1, 1);
          for (auto& x : R) x = rng.uniform(-1, 1);
          std::vector<const float*> rows(K);
          for (int64_t k = 0; k < K; ++k) rows[k] = B.data() + k * uk.nr;
          for (int64_t cs : {int64_t(1), int64_t(2)}) {
            std::vector<float> C(uk.mr * 64, 123.f);
            const int64_t rs = 64;
            uk.run(K, A.data(), 1, mr, rows.data(), C.data(), rs, cs, mr, nr, bias_m.data(), bias_n.data(),
                   R.data(), -0.5f, 2.f);
            for (int i = 0; i < uk.mr; ++i)
              for (int j = 0; j < 64 / cs; ++j) {
                float got = C[i * rs + j * cs];
                if (i >= mr || j >= nr) {
                  ASSERT_EQ(got, 123.f) << "wrote outside the valid tile";
                  continue;
                }
                double ref = bias_m[i] + bias_n[j] + R[i * rs + j * cs];
                for (int64_t k = 0; k < K; ++k) ref += double(A[k * mr + i]) * B[k * uk.nr + j];
                ref = std::min(2.0, std::max(-0.5, ref));
                ASSERT_NEAR(got, ref, 1e-4)
                    << isa_name(v.isa) << " K=" << K << " mr=" << mr << " i=" << i << " j=" << j;
              }
          }
        }
      }
    }
  }
}

// M splits into panels of at most MR rows, as even as possible, covering every row once.
TEST(Kernels, SgemmPanelsSplitRowsEvenly) {
  for (int mr : {4, 6, 8})
    for (int64_t M = 1; M <= 70; ++M) {
      const int64_t panels = (M + mr - 1) / mr;
      int64_t next = 0;
      int lo = mr, hi = 0;
      for (int64_t p = 0; p < panels; ++p) {
        int64_t i0;
        int rows;
        sgemm_panel(M, mr, p, &i0, &rows);
        ASSERT_EQ(i0, next) << "M=" << M << " p=" << p;
        lo = std::min(lo, rows), hi = std::max(hi, rows);
        next += rows;
      }
      EXPECT_EQ(next, M);
      EXPECT_LE(hi, mr);
      EXPECT_LE(hi - lo, 1) << "M=" << M << " mr=" << mr;
    }
}

// interleave2 (transposed-conv upsampling rows): every length around the 16-byte and 4-float vectors,
// nothing written past 2n.
TEST(Kernels, Interleave2MatchesScalar) {
  for (int64_t n : {0, 1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 100}) {
    std::vector<uint8_t> a(n), b(n), d(2 * n + 8, 0xAB);
    std::vector<float> fa(n), fb(n), fd(2 * n + 8, -7.f);
    for (int64_t i = 0; i < n; ++i)
      a[i] = static_cast<uint8_t>(i * 7 + 1), b[i] = static_cast<uint8_t>(255 - i * 3), fa[i] = 0.5f * i,
      fb[i] = -1.25f * i;
    interleave2(a.data(), b.data(), n, d.data());
    interleave2(fa.data(), fb.data(), n, 0.75f, fd.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(d[2 * i], a[i]) << "n=" << n << " i=" << i;
      ASSERT_EQ(d[2 * i + 1], b[i]) << "n=" << n << " i=" << i;
      ASSERT_EQ(fd[2 * i], fa[i] + 0.75f) << "n=" << n << " i=" << i;
      ASSERT_EQ(fd[2 * i + 1], fb[i] + 0.75f) << "n=" << n << " i=" << i;
    }
    for (int64_t i = 2 * n; i < 2 * n + 8; ++i) {
      ASSERT_EQ(d[i], 0xAB) << "wrote past 2n, n=" << n;
      ASSERT_EQ(fd[i], -7.f) << "wrote past 2n, n=" << n;
    }
  }
}

// Plain direct convolution for the reference.
float conv_ref(const ConvGeometry& g, const std::vector<float>& x, const std::vector<float>& w, int64_t m,
               int64_t oy, int64_t ox) {
  double s = 0;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t ky = 0; ky < g.KH; ++ky)
      for (int64_t kx = 0; kx < g.KW; ++kx) {
        int64_t iy = oy * g.SH - g.PT + ky * g.DH, ix = ox * g.SW - g.PL + kx * g.DW;
        if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
        s += double(w[((m * g.C + c) * g.KH + ky) * g.KW + kx]) * x[(c * g.H + iy) * g.W + ix];
      }
  return static_cast<float>(s);
}

// y (M planes of OH×OW) against conv_ref + bias (+ r, laid out like y) clamped to [lo, hi]: the first
// element more than `tol` away (NaN included), or success.
::testing::AssertionResult matches_conv_ref(const ConvGeometry& g, int64_t M, const std::vector<float>& x,
                                            const std::vector<float>& w, const std::vector<float>& bias,
                                            const float* r, const float* y, float lo, float hi, double tol) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t oy = 0; oy < g.OH; ++oy)
      for (int64_t ox = 0; ox < g.OW; ++ox) {
        const int64_t at = m * g.P() + oy * g.OW + ox;
        const float ref =
            std::min(hi, std::max(lo, conv_ref(g, x, w, m, oy, ox) + bias[m] + (r ? r[at] : 0.f)));
        if (!(std::fabs(y[at] - ref) <= tol))
          return ::testing::AssertionFailure()
                 << "m=" << m << " oy=" << oy << " ox=" << ox << ": " << y[at] << " against " << ref;
      }
  return ::testing::AssertionSuccess();
}

TEST(Kernels, DirectConvMatchesReference) {
  struct Case {
    int64_t C, H, W, KH, KW, S, D, P, M;
  };
  const Case cases[] = {{1, 13, 17, 3, 3, 1, 1, 1, 1}, {1, 16, 16, 3, 3, 2, 1, 1, 4},
                        {3, 9, 11, 3, 3, 1, 2, 2, 2},  {2, 10, 7, 5, 3, 2, 1, 0, 3},
                        {4, 8, 8, 1, 1, 1, 1, 0, 1},   {1, 20, 23, 3, 3, 3, 1, 1, 2}};
  for (const Variant& v : variants()) {
    if (!runnable(v.isa)) continue;
    for (const Case& cs : cases) {
      ConvGeometry g;
      g.C = cs.C, g.H = cs.H, g.W = cs.W, g.KH = cs.KH, g.KW = cs.KW, g.SH = g.SW = cs.S, g.DH = g.DW = cs.D;
      g.PT = g.PL = cs.P;
      g.OH = (g.H + 2 * cs.P - ((g.KH - 1) * g.DH + 1)) / g.SH + 1;
      g.OW = (g.W + 2 * cs.P - ((g.KW - 1) * g.DW + 1)) / g.SW + 1;
      Rng rng(7);
      std::vector<float> x(g.C * g.H * g.W), w(cs.M * g.K()), bias(cs.M), r(cs.M * g.P()),
          y(cs.M * g.P(), 0.f);
      for (auto& e : x) e = rng.uniform(-1, 1);
      for (auto& e : w) e = rng.uniform(-1, 1);
      for (auto& e : bias) e = rng.uniform(-1, 1);
      for (auto& e : r) e = rng.uniform(-1, 1);
      for (bool with_r : {false, true}) {
        // Two row blocks, to check that blocks compose.
        const int64_t split = g.OH / 2;
        for (auto [a, b] : {std::pair<int64_t, int64_t>{0, split}, {split, g.OH}}) {
          std::vector<float> scratch(conv_direct_scratch(g, b - a));
          v.direct(g, cs.M, x.data(), w.data(), bias.data(), with_r ? r.data() : nullptr, y.data(), a, b,
                   -1.5f, 1.5f, scratch.data());
        }
        ASSERT_TRUE(
            matches_conv_ref(g, cs.M, x, w, bias, with_r ? r.data() : nullptr, y.data(), -1.5f, 1.5f, 1e-4))
            << isa_name(v.isa) << " case C=" << cs.C << " S=" << cs.S << " D=" << cs.D;
      }
    }
  }
}

// The channels-last-rows conv kernels this CPU runs (conv_cl_rows_f32.h), with their lanes.
struct ClKernel {
  Isa isa;
  ConvClF32 fn;
  int lanes;
};
std::vector<ClKernel> cl_kernels() {
  std::vector<ClKernel> ks;
  for (const ClKernel& k :
       {ClKernel{Isa::Avx2, conv_cl_f32_avx2, 8}, ClKernel{Isa::Avx512, conv_cl_f32_avx512, 16}})
    if (runnable(k.isa)) ks.push_back(k);
  return ks;
}

// The channels-last-rows conv (conv_cl_rows_f32.h), its input, residual and output each in planes or
// channels-last (bit-identical results in every layout, and on every ISA): channel counts around the
// 8-channel transposes and the 8/16- and 16/32-lane output blocks, windows 2×2 … 5×3 and 1×3/3×1, row
// strides 1 and 2, padding on one side or none, widths around the 4–6- and 1–12-pixel tiles and 8-column
// transposes, a residual, rows split into blocks (each with its own ring), and guard values around the
// output.
TEST(Kernels, ConvClRowsMatchesReference) {
  if (cl_kernels().empty()) GTEST_SKIP() << "no AVX2 on this CPU";
  struct Case {
    int64_t C, M, H, W, KH, KW, SH, PT, PL, PB, PR;
    int64_t SW = 1;
  };
  const Case cases[] = {{16, 16, 9, 13, 3, 3, 1, 1, 1, 1, 1},
                        {8, 8, 7, 8, 3, 3, 1, 1, 1, 1, 1},
                        {3, 16, 6, 17, 3, 3, 1, 1, 1, 1, 1},
                        {2, 9, 5, 6, 3, 3, 1, 0, 0, 0, 0},
                        {17, 24, 8, 23, 3, 3, 1, 1, 1, 1, 1},
                        {16, 33, 6, 12, 3, 3, 2, 1, 1, 1, 1},
                        {12, 12, 7, 5, 5, 3, 1, 2, 1, 2, 1},
                        {9, 20, 5, 31, 2, 2, 1, 0, 0, 1, 1},
                        {24, 8, 4, 50, 1, 3, 1, 0, 1, 0, 1},
                        {5, 16, 11, 7, 3, 1, 2, 1, 0, 1, 0},
                        {32, 17, 3, 1, 3, 3, 1, 1, 1, 1, 1},
                        {16, 16, 10, 20, 3, 3, 1, 2, 3, 0, 0},
                        {4, 40, 3, 3, 3, 3, 1, 2, 2, 2, 2},
                        // Inside channels-last chains only: column stride 2 (stems), 1×1 (pointwise, also
                        // with a bottom or right pad: not one run of pixels), and one input channel.
                        {1, 16, 9, 20, 3, 3, 2, 1, 1, 1, 1, 2},
                        {3, 24, 7, 13, 3, 3, 2, 1, 1, 0, 0, 2},
                        {16, 32, 5, 11, 1, 1, 1, 0, 0, 0, 0},
                        {24, 17, 3, 7, 1, 1, 1, 0, 0, 0, 0},
                        {1, 8, 6, 9, 3, 3, 1, 1, 1, 1, 1},
                        {8, 16, 4, 5, 1, 1, 1, 0, 0, 1, 0},
                        {8, 16, 4, 5, 1, 1, 1, 0, 0, 0, 1},
                        {8, 16, 6, 15, 1, 1, 2, 0, 0, 0, 0, 2},
                        // AVX-512 blocks of 32 and 16 lanes (M 40, 48, 64) and rows of 13–15 and 25 pixels
                        // (two and three uneven tiles).
                        {16, 40, 4, 13, 3, 3, 1, 1, 1, 1, 1},
                        {8, 48, 3, 14, 3, 3, 1, 1, 1, 1, 1},
                        {16, 64, 3, 25, 3, 3, 1, 1, 1, 1, 1},
                        {32, 16, 5, 15, 1, 1, 1, 0, 0, 0, 0}};
  // Each case's all-planes result on the first ISA, without and with the residual.
  std::vector<std::array<std::vector<float>, 2>> first_isa(std::size(cases));
  for (const ClKernel& k : cl_kernels())
    for (const Case& cs : cases) {
      ConvGeometry g;
      g.C = cs.C, g.H = cs.H, g.W = cs.W, g.KH = cs.KH, g.KW = cs.KW, g.SH = cs.SH, g.SW = cs.SW,
      g.PT = cs.PT, g.PL = cs.PL;
      g.OH = (g.H + cs.PT + cs.PB - g.KH) / g.SH + 1;
      g.OW = (g.W + cs.PL + cs.PR - g.KW) / g.SW + 1;
      ASSERT_TRUE(conv_cl_applies(g, cs.M)) << "case C=" << cs.C << " M=" << cs.M;
      Rng rng(13);
      std::vector<float> x(g.C * g.H * g.W), w(cs.M * g.K()), bias(cs.M), r(cs.M * g.P());
      for (auto& e : x) e = rng.uniform(-1, 1);
      for (auto& e : w) e = rng.uniform(-1, 1);
      for (auto& e : bias) e = rng.uniform(-1, 1);
      for (auto& e : r) e = rng.uniform(-1, 1);
      const ConvClWeights pw = conv_cl_pack(w.data(), cs.M, g.C, g.KH, g.KW, k.lanes);
      // Channels-last copies (H×W×C) of the input and the residual, for the layouts of the runtime's chains.
      auto to_cl = [](const std::vector<float>& p, int64_t C, int64_t HW) {
        std::vector<float> t(p.size());
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < HW; ++i) t[i * C + c] = p[c * HW + i];
        return t;
      };
      const std::vector<float> x_cl = to_cl(x, g.C, g.H * g.W), r_cl = to_cl(r, cs.M, g.P());
      for (bool with_r : {false, true}) {
        std::vector<float> planes;  // the all-planes result, which every other layout must equal bit for bit
        for (int layout_bits = 0; layout_bits < 8; ++layout_bits) {
          const ConvClLayout layout{(layout_bits & 1) != 0, (layout_bits & 2) != 0 && with_r,
                                    (layout_bits & 4) != 0};
          if ((layout_bits & 2) && !with_r) continue;
          for (int64_t blocks : {int64_t(1), int64_t(3)}) {
            std::vector<float> yb(cs.M * g.P() + 64, 77.f);
            float* y = yb.data() + 32;
            const int64_t per = (g.OH + blocks - 1) / blocks;
            for (int64_t a = 0; a < g.OH; a += per) {
              std::vector<float> scratch(conv_cl_scratch(g), std::nanf(""));  // scratch starts as garbage
              k.fn(g, pw, layout.x ? x_cl.data() : x.data(), bias.data(),
                   with_r ? (layout.r ? r_cl.data() : r.data()) : nullptr, y, a, std::min(g.OH, a + per),
                   -2.5f, 3.f, scratch.data(), layout);
            }
            for (int i = 0; i < 32; ++i) {
              ASSERT_EQ(yb[i], 77.f) << "wrote before the output";
              ASSERT_EQ(yb[32 + cs.M * g.P() + i], 77.f) << "wrote past the output";
            }
            std::vector<float> out(y, y + cs.M * g.P());
            if (layout.y) {  // back to planes
              for (int64_t m = 0; m < cs.M; ++m)
                for (int64_t i = 0; i < g.P(); ++i) out[m * g.P() + i] = y[i * cs.M + m];
            }
            if (layout_bits == 0 && blocks == 1) {
              planes = out;
              if (k.isa != cl_kernels()[0].isa) {  // the same bits as the first ISA's kernel
                ASSERT_EQ(out, first_isa[&cs - cases][with_r])
                    << isa_name(k.isa) << " case C=" << cs.C << " M=" << cs.M;
                continue;
              }
              first_isa[&cs - cases][with_r] = out;
              ASSERT_TRUE(matches_conv_ref(g, cs.M, x, w, bias, with_r ? r.data() : nullptr, out.data(),
                                           -2.5f, 3.f, 1e-4))
                  << "case C=" << cs.C << " M=" << cs.M << " K=" << g.KH << "x" << g.KW << " r=" << with_r;
              continue;
            }
            for (size_t i = 0; i < out.size(); ++i)
              ASSERT_EQ(out[i], planes[i])
                  << isa_name(k.isa) << " case C=" << cs.C << " M=" << cs.M << " layout x/r/y " << layout.x
                  << layout.r << layout.y << " blocks=" << blocks << " at " << i;
          }
        }
      }
    }
}

// A NaN input reaches every output whose window holds it, through the bias, the residual and a ReLU's
// clamp, as on the GEMM and direct paths (maxps/minps return an operand, not NaN, unless ordered so).
TEST(Kernels, ConvClRowsKeepsNaN) {
  if (cl_kernels().empty()) GTEST_SKIP() << "no AVX2 on this CPU";
  for (const ClKernel& k : cl_kernels()) {
    ConvGeometry g;
    g.C = 4, g.H = 5, g.W = 19, g.KH = g.KW = 3, g.PT = g.PL = 1, g.OH = 5, g.OW = 19;
    const int64_t M = 16;
    std::vector<float> x(g.C * g.H * g.W, 0.25f), w(M * g.K(), 0.5f), bias(M, 0.1f), r(M * g.P(), 1.f);
    x[(2 * g.H + 2) * g.W + 17] = std::nanf("");  // channel 2, row 2, column 17 (the scalar tail)
    x[(0 * g.H + 0) * g.W + 5] = std::nanf("");   // channel 0, row 0, column 5 (a vector)
    const ConvClWeights pw = conv_cl_pack(w.data(), M, g.C, g.KH, g.KW, k.lanes);
    std::vector<float> y(M * g.P()), scratch(conv_cl_scratch(g));
    // Planes out, and channels-last out (the tiles store straight into it, also with a channels-last
    // residual).
    for (bool y_cl : {false, true})
      for (const float* res : {static_cast<const float*>(nullptr), static_cast<const float*>(r.data())}) {
        k.fn(g, pw, x.data(), bias.data(), res, y.data(), 0, g.OH, 0.f, 6.f, scratch.data(),
             {false, y_cl && res, y_cl});
        for (int64_t m = 0; m < M; ++m)
          for (int64_t oy = 0; oy < g.OH; ++oy)
            for (int64_t ox = 0; ox < g.OW; ++ox) {
              const bool hit =
                  (std::abs(oy - 2) <= 1 && std::abs(ox - 17) <= 1) || (oy <= 1 && std::abs(ox - 5) <= 1);
              const int64_t at = y_cl ? (oy * g.OW + ox) * M + m : m * g.P() + oy * g.OW + ox;
              ASSERT_EQ(std::isnan(y[at]), hit)
                  << isa_name(k.isa) << " m=" << m << " oy=" << oy << " ox=" << ox << " y_cl=" << y_cl;
            }
      }
  }
}

// The channels-last depthwise 3×3 conv (conv_dw_cl_f32.h) gives the planes path's bits
// (conv3x3_rows.inc, one channel per call) on channels-last copies: strides 1 and 2 (also unequal),
// padding 0–2 on each side, widths with no interior column, 4–32 channels (also not whole 8-lane
// blocks: the last one masked), with and without a bias, a clamp, NaN inputs (kept), row blocks, and
// guard values around the output.
TEST(Kernels, ConvDwClMatchesThePlanesPathBitForBit) {
  if (!runnable(Isa::Avx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  struct Kernel {
    Isa isa;
    ConvDirectF32 planes;
    ConvDwClF32 cl;
    int lanes;
  };
  struct Case {
    int64_t C, H, W, SH, SW, PT, PL, PB, PR;
  };
  const Case cases[] = {
      {16, 12, 17, 1, 1, 1, 1, 1, 1}, {8, 9, 20, 2, 2, 1, 1, 1, 1}, {24, 7, 8, 2, 2, 0, 0, 1, 1},
      {8, 5, 1, 1, 1, 1, 1, 1, 1},    {16, 3, 2, 2, 2, 1, 1, 1, 1}, {8, 6, 11, 1, 2, 2, 2, 2, 2},
      {16, 10, 33, 2, 1, 0, 1, 1, 0}, {8, 4, 3, 1, 1, 0, 0, 0, 0},  {32, 14, 14, 2, 2, 1, 1, 1, 1},
      {12, 9, 13, 2, 2, 1, 1, 1, 1},  {4, 6, 7, 1, 1, 1, 1, 1, 1},  {20, 5, 9, 1, 2, 1, 1, 1, 1},
      {15, 1, 1, 1, 1, 1, 1, 1, 1},   {40, 6, 9, 2, 2, 1, 1, 1, 1}, {48, 5, 21, 1, 1, 1, 1, 1, 1}};
  for (const Kernel& k : {Kernel{Isa::Avx2, conv_direct_f32_avx2, conv_dw_cl_f32_avx2, 8},
                          Kernel{Isa::Avx512, conv_direct_f32_avx512, conv_dw_cl_f32_avx512, 16}}) {
    if (!runnable(k.isa)) continue;
    for (const Case& cs : cases)
      for (bool with_bias : {false, true}) {
        ConvGeometry g;
        g.C = 1, g.H = cs.H, g.W = cs.W, g.KH = g.KW = 3, g.SH = cs.SH, g.SW = cs.SW, g.PT = cs.PT,
        g.PL = cs.PL;
        g.OH = (g.H + cs.PT + cs.PB - 3) / g.SH + 1;
        g.OW = (g.W + cs.PL + cs.PR - 3) / g.SW + 1;
        const int64_t C = cs.C, HW = g.H * g.W, P = g.P();
        Rng rng(static_cast<uint64_t>(C * 131 + cs.W));
        std::vector<float> x(C * HW), w(C * 9), bias(C);
        for (auto& e : x) e = rng.uniform(-1, 1);
        for (auto& e : w) e = rng.uniform(-1, 1);
        for (auto& e : bias) e = rng.uniform(-1, 1);
        x[HW / 2] = std::nanf("");  // channel 0
        x[(C - 1) * HW + HW - 1] = std::nanf("");
        std::vector<float> x_cl(x.size());
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < HW; ++i) x_cl[i * C + c] = x[c * HW + i];
        // The planes path, one channel per call.
        std::vector<float> ref(C * P), scratch(conv_direct_scratch(g, g.OH));
        for (int64_t c = 0; c < C; ++c)
          k.planes(g, 1, x.data() + c * HW, w.data() + c * 9, with_bias ? bias.data() + c : nullptr, nullptr,
                   ref.data() + c * P, 0, g.OH, -1.5f, 2.f, scratch.data());
        const ConvDwClWeights pw = conv_dw_cl_pack(w.data(), C, k.lanes);
        for (int64_t blocks : {int64_t(1), int64_t(2)}) {
          std::vector<float> yb(C * P + 64, 77.f);
          float* y = yb.data() + 32;
          const int64_t per = (g.OH + blocks - 1) / blocks;
          for (int64_t a = 0; a < g.OH; a += per)
            k.cl(g, pw, x_cl.data(), with_bias ? bias.data() : nullptr, y, a, std::min(g.OH, a + per), -1.5f,
                 2.f);
          for (int i = 0; i < 32; ++i) {
            ASSERT_EQ(yb[i], 77.f) << "wrote before the output";
            ASSERT_EQ(yb[32 + C * P + i], 77.f) << "wrote past the output";
          }
          for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < P; ++i) {
              const float a = y[i * C + c], b = ref[c * P + i];
              ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0)
                  << isa_name(k.isa) << " C=" << C << " " << g.H << "x" << g.W << " s" << g.SH << g.SW
                  << " channel " << c << " pixel " << i << ": " << a << " vs " << b;
            }
        }
      }
  }
}

// The one-input-channel 3×3 path (conv3x3_rows.inc: depthwise convs and single-channel stems):
// strides 1 and 2 in either direction, asymmetric and zero padding, widths around the vector widths
// (4, 8, 16 lanes), several output channels, a residual, and rows split into blocks.
TEST(Kernels, DirectConv3x3OneChannelMatchesReference) {
  struct Case {
    int64_t H, W, SH, SW, PT, PL, PB, PR, M;
  };
  const Case cases[] = {
      {7, 1, 1, 1, 1, 1, 1, 1, 1},
      {5, 2, 2, 2, 1, 1, 1, 1, 2},
      {9, 15, 1, 1, 1, 1, 1, 1, 1},
      {9, 16, 1, 1, 1, 1, 1, 1, 3},
      {9, 17, 2, 2, 1, 1, 1, 1, 1},
      {6, 31, 2, 2, 1, 1, 1, 1, 16},
      {6, 33, 1, 1, 0, 0, 0, 0, 2},
      {11, 56, 2, 2, 1, 1, 1, 1, 1},
      {8, 56, 1, 1, 1, 1, 1, 1, 1},
      {7, 65, 1, 2, 1, 1, 1, 1, 2},
      {10, 40, 2, 1, 2, 0, 0, 2, 1},
      {13, 35, 2, 2, 0, 1, 1, 0, 3},
      {12, 100, 1, 1, 2, 2, 2, 2, 1},
      {4, 224, 2, 2, 1, 1, 0, 0, 16},
      {3, 3, 1, 1, 2, 2, 2, 2, 1},
      {20, 23, 3, 2, 1, 1, 1, 1, 2},
      {14, 28, 2, 2, 1, 1, 1, 1, 1},
      {9, 47, 1, 1, 0, 2, 2, 0, 2},
      // One output channel, stride 1, wider than AVX2's strips (64): AVX2 reads the rows in place, edge
      // vectors masked (padding on one side only, and a partial last vector).
      {5, 130, 1, 1, 1, 0, 0, 2, 1},
      {6, 77, 1, 1, 1, 1, 1, 1, 1},
      {4, 72, 1, 1, 1, 1, 1, 1, 1},
      // Wide rows: the AVX-512 strips go in blocks of a few output rows (row blocks inside the range).
      {11, 1000, 1, 1, 1, 1, 1, 1, 2},
      {13, 700, 2, 2, 1, 1, 1, 1, 1},
      // An empty input row (W = 0) with enough padding for outputs: all padding, no division by W.
      {4, 0, 1, 1, 2, 2, 2, 2, 1}};
  for (const Variant& v : variants()) {
    if (!runnable(v.isa)) continue;
    for (const Case& cs : cases) {
      ConvGeometry g;
      g.C = 1, g.H = cs.H, g.W = cs.W, g.KH = g.KW = 3, g.SH = cs.SH, g.SW = cs.SW, g.PT = cs.PT,
      g.PL = cs.PL;
      g.OH = (g.H + cs.PT + cs.PB - 3) / g.SH + 1;
      g.OW = (g.W + cs.PL + cs.PR - 3) / g.SW + 1;
      ASSERT_GT(g.OH, 0);
      ASSERT_GT(g.OW, 0);
      Rng rng(11);
      std::vector<float> x(g.H * g.W), w(cs.M * 9), bias(cs.M), r(cs.M * g.P());
      for (auto& e : x) e = rng.uniform(-1, 1);
      for (auto& e : w) e = rng.uniform(-1, 1);
      for (auto& e : bias) e = rng.uniform(-1, 1);
      for (auto& e : r) e = rng.uniform(-1, 1);
      for (bool with_r : {false, true})
        for (int64_t blocks : {int64_t(1), int64_t(3)}) {
          // Output guarded on both sides: nothing may be written outside the planes.
          std::vector<float> yb(cs.M * g.P() + 64, 77.f);
          float* y = yb.data() + 32;
          const int64_t per = (g.OH + blocks - 1) / blocks;
          for (int64_t a = 0; a < g.OH; a += per) {
            const int64_t b = std::min(g.OH, a + per);
            std::vector<float> scratch(conv_direct_scratch(g, b - a));
            v.direct(g, cs.M, x.data(), w.data(), bias.data(), with_r ? r.data() : nullptr, y, a, b, -1.25f,
                     1.5f, scratch.data());
          }
          for (int i = 0; i < 32; ++i) {
            ASSERT_EQ(yb[i], 77.f) << "wrote before the output";
            ASSERT_EQ(yb[32 + cs.M * g.P() + i], 77.f) << "wrote past the output";
          }
          ASSERT_TRUE(
              matches_conv_ref(g, cs.M, x, w, bias, with_r ? r.data() : nullptr, y, -1.25f, 1.5f, 1e-5))
              << isa_name(v.isa) << " " << cs.H << "x" << cs.W << " s" << cs.SH << cs.SW << " pads " << cs.PT
              << cs.PL << cs.PB << cs.PR << " blocks " << blocks << (with_r ? " residual" : "");
        }
    }
  }
}

}  // namespace
}  // namespace tinyqat::test
