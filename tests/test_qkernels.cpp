// Every int8 kernel variant (kernels/qgemm.h) against the plain integer reference (igemm_ref.h) and
// the numerics.h formulas, bit for bit, whichever ISA this machine picks at run time (variants the CPU
// cannot run are skipped with a line saying so). Then the operators' own paths: QLinearConv with fused
// activation bounds, QLinearMatMul with the runtime's bias input, weights that are not constants.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/numerics.h"
#include "ir/builder.h"
#include "runtime/executor.h"
#include "runtime/fuse.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/igemm_ref.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qconv_direct3x3.h"
#include "runtime/kernels/qgemm.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

bool runnable(const QGemmKernel& k) {
  __builtin_cpu_init();
  const std::string n = k.name;
  if (n.find("vnni") != std::string::npos)
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
  if (n.find("avx512") != std::string::npos) return __builtin_cpu_supports("avx512bw");
  if (n.find("avx2") != std::string::npos) return __builtin_cpu_supports("avx2");
  return true;
}
bool runnable(Isa isa) {
  __builtin_cpu_init();
  if (isa == Isa::Avx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (isa == Isa::Avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}

std::vector<const QGemmKernel*> gemm_variants() {
  std::vector<const QGemmKernel*> r;
  for (const QGemmKernel* k : qgemm_kernels_all()) {
    if (runnable(*k))
      r.push_back(k);
    else
      std::printf("SKIP: %s (CPU lacks the ISA)\n", k->name);
  }
  return r;
}
struct DirectVariant {
  Isa isa;
  QConvDirect fn;
};
std::vector<DirectVariant> direct_variants() {
  std::vector<DirectVariant> r;
  for (DirectVariant v :
       {DirectVariant{Isa::Generic, qconv_direct_generic}, DirectVariant{Isa::Avx2, qconv_direct_avx2},
        DirectVariant{Isa::Avx512, qconv_direct_avx512}})
    if (runnable(v.isa)) r.push_back(v);
  // The AVX-512 VNNI build (vpdpbusd in the one-channel 3×3 path).
  __builtin_cpu_init();
  if (runnable(Isa::Avx512) && __builtin_cpu_supports("avx512vnni"))
    r.push_back({Isa::Avx512, qconv_direct_avx512vnni});
  else
    std::printf("SKIP: direct avx512vnni (CPU lacks the ISA)\n");
  return r;
}
std::string direct_name(const DirectVariant& d) {
  return d.fn == qconv_direct_avx512vnni ? "avx512vnni" : isa_name(d.isa);
}
std::vector<const QElementwise*> elementwise_variants() {
  std::vector<const QElementwise*> r{&qelementwise_generic};
  if (runnable(Isa::Avx2)) r.push_back(&qelementwise_avx2);
  if (runnable(Isa::Avx512)) r.push_back(&qelementwise_avx512);
  return r;
}

std::vector<uint8_t> random_bytes(size_t n, Rng& rng) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng.next() & 0xff);
  return v;
}
int32_t byte_value(const std::vector<uint8_t>& v, size_t i, bool is_signed) {
  return is_signed ? static_cast<int8_t>(v[i]) : v[i];
}
int32_t rand_in(Rng& rng, int32_t lo, int32_t hi) {
  return lo + static_cast<int32_t>(rng.next() % uint32_t(hi - lo + 1));
}

// One operand configuration: activation/weight signedness and zero points, output kind.
struct QConfig {
  bool x_signed, w_signed;
  int wzp_mode;  // 0: none, 1: per-tensor, 2: per-channel
  int out;       // 0: int32, 1: uint8, 2: int8
  bool bias;
  bool act;  // clamp tighter than the type range (a fused activation)
};
const QConfig kConfigs[] = {
    {false, true, 0, 0, false, false},  // ConvInteger / MatMulInteger, plain
    {true, true, 2, 2, true, true},     // int8 activations, per-channel weight zero points, clamp
    {false, false, 1, 1, true, true},   // uint8 weights (shifted by −128 inside) with a zero point
    {true, false, 2, 0, false, false},  // int8 × uint8, per-channel zero points, int32
    {false, true, 0, 1, true, false},   // the common QLinearConv: u8 activations, symmetric s8 weights
};

struct Operands {
  std::vector<int32_t> wzp, bias;
  int32_t xzp;
  QRequant rq;
};
Operands make_operands(const QConfig& c, int64_t M, Rng& rng) {
  Operands o;
  o.xzp = c.x_signed ? rand_in(rng, -128, 127) : rand_in(rng, 0, 255);
  if (c.wzp_mode == 1) o.wzp = {c.w_signed ? rand_in(rng, -128, 127) : rand_in(rng, 0, 255)};
  if (c.wzp_mode == 2)
    for (int64_t m = 0; m < M; ++m)
      o.wzp.push_back(c.w_signed ? rand_in(rng, -128, 127) : rand_in(rng, 0, 255));
  if (c.bias)
    for (int64_t m = 0; m < M; ++m) o.bias.push_back(rand_in(rng, -20000, 20000));
  if (c.out) {
    for (int64_t m = 0; m < M; ++m) o.rq.mult.push_back(rng.uniform(0.0005f, 0.01f));
    o.rq.out_s8 = c.out == 2;
    const int32_t lo = o.rq.out_s8 ? -128 : 0, hi = o.rq.out_s8 ? 127 : 255;
    o.rq.zp = rand_in(rng, lo, hi);
    o.rq.qlo = c.act ? std::max(lo, o.rq.zp - 20) : lo;
    o.rq.qhi = c.act ? std::min(hi, o.rq.zp + 50) : hi;
  }
  return o;
}

// Checks `got` (int32 or 8-bit, per the config) against the exact accumulators `acc` [N, M, P].
void expect_output(const QConfig& c, const Operands& o, const std::vector<int32_t>& acc,
                   const std::vector<uint8_t>& got, int64_t M, int64_t inner, const std::string& what) {
  const int64_t n = static_cast<int64_t>(acc.size());
  const size_t esz = c.out ? 1 : 4;
  for (size_t i = n * esz; i < got.size(); ++i) ASSERT_EQ(got[i], 0xA5) << what << ": wrote past the output";
  for (int64_t i = 0; i < n; ++i) {
    const int64_t m = (i / inner) % M;
    int32_t want = acc[i] + (c.bias ? o.bias[m] : 0), have;
    if (c.out == 0) {
      std::memcpy(&have, got.data() + 4 * i, 4);
    } else {
      want = requantize(want, o.rq.mult[m], o.rq.zp, o.rq.qlo, o.rq.qhi);
      have = c.out == 2 ? static_cast<int8_t>(got[i]) : got[i];
    }
    ASSERT_EQ(have, want) << what << " at element " << i << " (channel " << m << ")";
  }
}

struct ConvCase {
  int64_t N, C, H, W, M, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, group;
};
// Ragged tiles, channel counts that are not multiples of the k-group, strides, dilations, asymmetric
// padding, groups, depthwise, 1-D, pointwise (flat tiles).
const ConvCase kConvCases[] = {
    {1, 16, 13, 37, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // learned_filter-like, 37 = 32 + 5 columns
    {2, 5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},     // C % 4, M % 8, batch 2
    {1, 1, 20, 23, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},   // single-channel stem, stride 2
    {1, 8, 10, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8},    // depthwise
    {1, 12, 11, 9, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 12},  // depthwise, stride 2
    {1, 6, 9, 10, 4, 3, 2, 1, 2, 2, 1, 2, 0, 1, 3, 2},     // groups, dilation, asymmetric pads
    {1, 64, 7, 7, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},    // pointwise, 49 pixels as flat tiles
    {1, 9, 6, 40, 10, 1, 3, 1, 1, 1, 3, 0, 2, 0, 2, 1},    // 1×3, dilation 3
    {1, 4, 5, 70, 3, 1, 1, 1, 3, 1, 1, 0, 0, 0, 0, 1},     // strided pointwise
    {2, 2, 1, 50, 2, 1, 5, 1, 1, 1, 1, 0, 2, 0, 2, 1},     // 1-D-like (H = 1), direct (C·M ≤ 4)
    {1, 1, 8, 8, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},      // direct: one channel, two outputs
    {1, 3, 12, 34, 5, 5, 5, 3, 2, 1, 2, 2, 4, 3, 1, 1},    // 5×5, mixed strides and dilation
    {1, 24, 6, 6, 40, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2},    // no padding, two groups of 12 → 20
    {1, 16, 9, 37, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // one output channel (a filter's last conv): run_one
    {1, 8, 6, 20, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 9 = 8 + 1 outputs: a last panel of one row
    // The one-channel 3×3 path of the direct kernel (qconv_direct3x3.h): nr_metric-like depthwise
    // convs and stems, odd widths around the vector widths, asymmetric padding, mixed strides.
    {1, 16, 14, 56, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16},  // depthwise stride 2, 56 wide
    {2, 4, 9, 17, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},      // depthwise with multiplier 2, batch 2
    {1, 6, 13, 35, 6, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 6},     // stride 2, asymmetric pads
    {1, 3, 11, 40, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 3},     // strides (2, 1)
    {1, 3, 10, 33, 3, 3, 3, 1, 2, 1, 1, 2, 0, 0, 2, 3},     // strides (1, 2), pads 2/0
    {1, 2, 5, 70, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},      // 70 = 4·16 + 6 columns
    {1, 2, 4, 16, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2},      // no padding, 14 outputs
    {1, 2, 6, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2},       // one column
    {1, 1, 30, 66, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},    // single-channel stem, 33 outputs wide
    {1, 1, 9, 12, 5, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1},      // single channel, stride 1, pads 2
    {1, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 1, 1, 1, 1, 4},       // depthwise, dilation 2 (general direct)
    {1, 1, 14, 15, 16, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // single channel, stride 3 (general direct)
};

ConvGeometry geometry(const ConvCase& k) {
  ConvGeometry g;
  g.C = k.C / k.group, g.H = k.H, g.W = k.W, g.KH = k.KH, g.KW = k.KW, g.SH = k.SH, g.SW = k.SW;
  g.DH = k.DH, g.DW = k.DW, g.PT = k.PT, g.PL = k.PL;
  g.OH = (k.H + k.PT + k.PB - ((k.KH - 1) * k.DH + 1)) / k.SH + 1;
  g.OW = (k.W + k.PL + k.PR - ((k.KW - 1) * k.DW + 1)) / k.SW + 1;
  return g;
}

void run_conv_case(const ConvCase& cs, const QConfig& c, const QGemmKernel* kernel, QConvDirect direct,
                   bool allow_direct, uint64_t seed, const std::string& what) {
  Rng rng(seed);
  const ConvGeometry g = geometry(cs);
  const int64_t Cg = g.C, K = g.K(), P = g.P();
  auto x = random_bytes(cs.N * cs.C * cs.H * cs.W, rng);
  auto w = random_bytes(cs.M * K, rng);
  if (c.w_signed)  // the int8 contract restricts weights to −127..127; the kernels must not care
    for (size_t i = 0; i < w.size(); i += 7) w[i] = 0x80;
  Operands o = make_operands(c, cs.M, rng);
  std::vector<int32_t> acc(cs.N * cs.M * P);
  std::vector<int32_t> wzp_ref = o.wzp.empty() ? std::vector<int32_t>{0} : o.wzp;
  qconv_ref(g, cs.N, cs.group, cs.M, x.data(), c.x_signed, o.xzp, w.data(), c.w_signed, wzp_ref, acc.data());
  std::vector<uint8_t> y(acc.size() * (c.out ? 1 : 4) + 64, 0xA5);
  QConvWeights pw =
      qpack_conv_weights(*kernel, w.data(), c.w_signed, cs.M, Cg, g.KH, g.KW, cs.group, o.wzp, allow_direct);
  ThreadPool pool(1);
  QConvArgs a;
  a.kernel = kernel;
  a.direct = direct;
  a.g = &g;
  a.N = cs.N, a.group = cs.group, a.M = cs.M;
  a.x = x.data();
  a.x_signed = c.x_signed;
  a.xzp = o.xzp;
  a.w = w.data();
  a.w_signed = c.w_signed;
  a.wzp = o.wzp;
  a.packed = &pw;
  a.bias = c.bias ? o.bias.data() : nullptr;
  a.rq = c.out ? &o.rq : nullptr;
  a.y = y.data();
  qconv(a, pool);
  expect_output(c, o, acc, y, cs.M, P, what);
}

std::string conv_name(size_t ci, size_t fi, const char* kernel) {
  return "conv case " + std::to_string(ci) + " config " + std::to_string(fi) + " " + kernel;
}

TEST(QKernels, ConvEveryGemmVariantMatchesReference) {
  for (const QGemmKernel* k : gemm_variants())
    for (size_t ci = 0; ci < std::size(kConvCases); ++ci)
      for (size_t fi = 0; fi < std::size(kConfigs); ++fi) {
        // allow_direct = false: the GEMM path on every shape, depthwise included.
        run_conv_case(kConvCases[ci], kConfigs[fi], k, qconv_direct_generic, false, 100 + ci * 10 + fi,
                      conv_name(ci, fi, k->name));
        if (HasFatalFailure()) return;
      }
}

TEST(QKernels, ConvEveryDirectVariantMatchesReference) {
  for (const DirectVariant& d : direct_variants())
    for (size_t ci = 0; ci < std::size(kConvCases); ++ci) {
      const ConvCase& cs = kConvCases[ci];
      // Tiny groups, and one input channel with a 3×3 kernel (depthwise convs, stems).
      if (!qconv_runs_direct(cs.C / cs.group, cs.M / cs.group) &&
          !(cs.C == cs.group && cs.KH == 3 && cs.KW == 3))
        continue;
      for (size_t fi = 0; fi < std::size(kConfigs); ++fi) {
        run_conv_case(cs, kConfigs[fi], &qgemm_kernel_generic(), d.fn, true, 300 + ci * 10 + fi,
                      conv_name(ci, fi, direct_name(d).c_str()) + " direct");
        if (HasFatalFailure()) return;
      }
    }
}

// The one-channel 3×3 path sums in fp32 (exact while |bias| + 255·Σ|w| ≤ 2^24) or, on VNNI, in int32
// when the weights fit int8: biases far outside that bound and weights at the ends of their range take
// the other branches; all must stay bit-exact, wrapping like the reference.
TEST(QKernels, DirectOneChannelHugeBiasAndWideWeights) {
  const ConvCase cs{1, 8, 11, 37, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8};
  const ConvGeometry g = geometry(cs);
  for (const DirectVariant& d : direct_variants())
    for (bool w_signed : {true, false}) {
      Rng rng(77);
      auto x = random_bytes(cs.C * cs.H * cs.W, rng);
      std::vector<uint8_t> w(cs.M * 9);
      for (size_t i = 0; i < w.size(); ++i)
        w[i] = i % 3 == 0 ? 0x80 : (i % 3 == 1 ? 0x7f : rng.next() & 0xff);
      std::vector<int32_t> wzp = w_signed ? std::vector<int32_t>{} : std::vector<int32_t>{3};
      std::vector<int32_t> bias;
      for (int64_t m = 0; m < cs.M; ++m) bias.push_back(m % 2 ? 2100000000 - m : -2100000000 + m);
      QRequant rq;
      for (int64_t m = 0; m < cs.M; ++m) rq.mult.push_back(1e-9f * static_cast<float>(m + 1));
      std::vector<int32_t> acc(cs.M * g.P());
      qconv_ref(g, 1, cs.group, cs.M, x.data(), false, 9, w.data(), w_signed,
                wzp.empty() ? std::vector<int32_t>{0} : wzp, acc.data());
      for (int out : {0, 1}) {
        std::vector<uint8_t> y(acc.size() * (out ? 1 : 4));
        QConvWeights pw =
            qpack_conv_weights(qgemm_kernel_generic(), w.data(), w_signed, cs.M, 1, 3, 3, cs.group, wzp);
        ASSERT_TRUE(pw.direct);
        ThreadPool pool(1);
        QConvArgs a;
        a.kernel = &qgemm_kernel_generic();
        a.direct = d.fn;
        a.g = &g;
        a.group = cs.group, a.M = cs.M;
        a.x = x.data(), a.xzp = 9;
        a.w = w.data(), a.w_signed = w_signed, a.wzp = wzp, a.packed = &pw;
        a.bias = bias.data();
        a.rq = out ? &rq : nullptr;
        a.y = y.data();
        qconv(a, pool);
        for (size_t i = 0; i < acc.size(); ++i) {
          const int64_t m = static_cast<int64_t>(i) / g.P();
          const int32_t v =
              static_cast<int32_t>(static_cast<uint32_t>(acc[i]) + static_cast<uint32_t>(bias[m]));
          int32_t have;
          if (out) {
            have = y[i];
            ASSERT_EQ(have, requantize(v, rq.mult[m], rq.zp, rq.qlo, rq.qhi))
                << direct_name(d) << " at " << i;
          } else {
            std::memcpy(&have, y.data() + 4 * i, 4);
            ASSERT_EQ(have, v) << direct_name(d) << " at " << i;
          }
        }
      }
    }
}

// Depthwise and stem convs split their rows over the threads: the same bits for any thread count.
TEST(QKernels, DirectOneChannelThreadsGiveTheSameBits) {
  for (const ConvCase& cs : {ConvCase{1, 1, 40, 45, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
                             ConvCase{1, 3, 25, 30, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3}}) {
    const ConvGeometry g = geometry(cs);
    Rng rng(6);
    auto x = random_bytes(cs.C * cs.H * cs.W, rng), w = random_bytes(cs.M * 9, rng);
    QRequant rq;
    rq.mult.assign(cs.M, 0.004f);
    std::vector<uint8_t> y1(cs.M * g.P()), y3(cs.M * g.P());
    for (int threads : {1, 3}) {
      ThreadPool pool(threads);
      QConvArgs a;
      a.g = &g, a.group = cs.group, a.M = cs.M, a.x = x.data(), a.w = w.data(), a.rq = &rq;
      a.y = threads == 1 ? y1.data() : y3.data();
      qconv(a, pool);
    }
    EXPECT_EQ(y1, y3);
  }
}

TEST(QKernels, ConvThreadsGiveTheSameBits) {
  const ConvCase cs = kConvCases[0];
  const ConvGeometry g = geometry(cs);
  Rng rng(5);
  auto x = random_bytes(cs.C * cs.H * cs.W, rng), w = random_bytes(cs.M * g.K(), rng);
  QRequant rq;
  rq.mult.assign(cs.M, 0.003f);
  std::vector<uint8_t> y1(cs.M * g.P()), y3(cs.M * g.P());
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    QConvArgs a;
    a.g = &g, a.M = cs.M, a.x = x.data(), a.w = w.data(), a.rq = &rq;
    a.y = threads == 1 ? y1.data() : y3.data();
    qconv(a, pool);
  }
  EXPECT_EQ(y1, y3);
}

TEST(QKernels, MatMulEveryVariantMatchesReference) {
  const int64_t shapes[][3] = {{1, 6, 64}, {37, 64, 33},  {5, 3, 1},    {64, 17, 100}, {130, 40, 7},
                               {2, 1, 9},  {300, 64, 32}, {100, 6, 16}, {77, 70, 9},   {49, 130, 24}};
  for (const QGemmKernel* k : gemm_variants())
    for (size_t si = 0; si < std::size(shapes); ++si)
      for (size_t fi = 0; fi < std::size(kConfigs); ++fi) {
        const int64_t M = shapes[si][0], K = shapes[si][1], N = shapes[si][2];
        const QConfig& c = kConfigs[fi];
        Rng rng(500 + si * 10 + fi);
        auto A = random_bytes(M * K, rng), B = random_bytes(K * N, rng);
        Operands o = make_operands(c, N, rng);
        std::vector<int32_t> acc(M * N);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            int64_t s = 0;
            const int32_t bz = o.wzp.empty() ? 0 : o.wzp[o.wzp.size() == 1 ? 0 : n];
            for (int64_t kk = 0; kk < K; ++kk)
              s += int64_t(byte_value(A, m * K + kk, c.x_signed) - o.xzp) *
                   (byte_value(B, kk * N + n, c.w_signed) - bz);
            acc[m * N + n] = static_cast<int32_t>(s);
          }
        std::vector<uint8_t> y(acc.size() * (c.out ? 1 : 4) + 64, 0xA5);
        ThreadPool pool(1);
        QMatMulArgs a;
        a.kernel = k;
        a.M = M, a.K = K, a.N = N;
        a.a = A.data();
        a.a_signed = c.x_signed;
        a.azp = o.xzp;
        a.b = B.data();
        a.b_signed = c.w_signed;
        a.bzp = o.wzp;
        a.bias = c.bias ? o.bias.data() : nullptr;
        a.rq = c.out ? &o.rq : nullptr;
        a.y = y.data();
        qmatmul(a, pool);
        expect_output(c, o, acc, y, N, 1,
                      "matmul " + std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N) +
                          " config " + std::to_string(fi) + " " + k->name);
        if (HasFatalFailure()) return;
      }
}

// QLinearAdd on every ISA path: numerics.h qlinear_add_value's bits, on ties (scales that make the sum
// land on .5), saturation both ways, ragged lengths; nothing written past the end. The reference itself
// stays within one step of the exact real-number result.
TEST(QKernels, AddVariantsMatchNumerics) {
  Rng rng(91);
  const int64_t n = 1000 + 13;
  std::vector<uint8_t> a(n), b(n);
  for (int64_t i = 0; i < n; ++i)
    a[i] = static_cast<uint8_t>(rng.next() >> 23), b[i] = static_cast<uint8_t>(rng.next() >> 23);
  struct P {
    float sa, sb, sy;
    int32_t za, zb, zy;
  };
  const P cases[] = {{0.02f, 0.02f, 0.04f, 128, 128, 128},  // (a + b − 256) / 2: every odd sum is a tie
                     {0.0131f, 0.0077f, 0.0203f, 101, 17, 64},
                     {0.5f, 0.25f, 0.01f, 0, 0, 0},  // saturates high and low
                     {1e-4f, 1e-4f, 1.f, 3, 250, 255}};
  for (const QElementwise* e : elementwise_variants())
    for (bool s8 : {false, true})
      for (const P& c : cases) {
        QAddParams p;
        p.sa = c.sa, p.sb = c.sb, p.inv_sy = 1.f / c.sy;
        p.za = s8 ? c.za - 128 : c.za, p.zb = s8 ? c.zb - 128 : c.zb, p.zy = s8 ? c.zy - 128 : c.zy;
        p.qmin = s8 ? -128 : 0, p.qmax = s8 ? 127 : 255;
        for (int64_t len : {n, int64_t(15), int64_t(1)}) {
          std::vector<uint8_t> y(n + 16, 0xA5);
          e->add(a.data(), b.data(), s8, len, p, y.data());
          for (int64_t i = 0; i < len; ++i) {
            const int32_t av = s8 ? static_cast<int8_t>(a[i]) : a[i],
                          bv = s8 ? static_cast<int8_t>(b[i]) : b[i];
            const int32_t want = qlinear_add_value(av, bv, p);
            ASSERT_EQ(s8 ? static_cast<int8_t>(y[i]) : y[i], want)
                << "a=" << av << " b=" << bv << " at " << i;
            const double exact = (double(av - p.za) * c.sa + double(bv - p.zb) * c.sb) / c.sy + p.zy;
            ASSERT_LE(std::fabs(std::clamp(exact, double(p.qmin), double(p.qmax)) - want), 1.0) << i;
          }
          EXPECT_EQ(y[len], 0xA5) << "wrote past the end";
        }
      }
}

TEST(QKernels, ElementwiseVariantsMatchNumerics) {
  Rng rng(77);
  std::vector<float> x(1000);
  for (auto& v : x) v = rng.uniform(-3.f, 3.f);
  const float scale = 0.0125f;
  for (int i = 0; i < 40; ++i) x[i * 7] = (static_cast<float>(i) - 20.5f) * scale;  // exact ties
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[500] = std::numeric_limits<float>::infinity();
  x[501] = -std::numeric_limits<float>::infinity();
  x[502] = 1e30f;
  x[999] = -0.f;
  for (const QElementwise* e : elementwise_variants()) {
    for (bool s8 : {false, true}) {
      const int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255, zp = s8 ? -3 : 121;
      for (int32_t qlo : {lo, lo + 10}) {
        std::vector<uint8_t> q(x.size() + 16, 0xA5);
        e->quantize(x.data(), static_cast<int64_t>(x.size()), scale, zp, qlo, hi, s8, q.data());
        for (size_t i = 0; i < x.size(); ++i) {
          const int32_t want = quantize_value(x[i], scale, zp, qlo, hi);
          ASSERT_EQ(s8 ? static_cast<int8_t>(q[i]) : q[i], want) << "quantize x=" << x[i] << " at " << i;
        }
        EXPECT_EQ(q[x.size()], 0xA5) << "wrote past the end";
        std::vector<float> d(x.size());
        e->dequantize(q.data(), s8, static_cast<int64_t>(x.size()), scale, zp, d.data());
        for (size_t i = 0; i < x.size(); ++i)
          ASSERT_EQ(d[i], dequantize_value(s8 ? static_cast<int8_t>(q[i]) : q[i], scale, zp)) << i;
      }
    }
    // Quotients on and next to rounding ties, at scales that are not powers of two: the vector paths
    // divide only where a tie is near, and must still give the division's bits everywhere.
    for (float sc : {1.f / 255, 0.0125f, 0.0037f, 0.1f, 1.f, 7.3f, 1e-6f}) {
      std::vector<float> v;
      Rng r2(static_cast<uint64_t>(sc * 1e6f) + 5);
      for (int i = 0; i < 20000; ++i) {
        const float k = std::floor(r2.uniform(-300.f, 300.f)) + 0.5f;
        const float d = (i % 5 == 0) ? 0.f : r2.uniform(-4e-6f, 4e-6f) * std::fabs(k);
        v.push_back((k + d) * sc);
        v.push_back(std::nextafter(k * sc, (i & 1) ? 1e30f : -1e30f));
        v.push_back(r2.uniform(-400.f, 400.f) * sc);
      }
      std::vector<uint8_t> q(v.size());
      for (bool s8 : {false, true}) {
        const int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255, zp = s8 ? 0 : 128;
        e->quantize(v.data(), static_cast<int64_t>(v.size()), sc, zp, lo, hi, s8, q.data());
        for (size_t i = 0; i < v.size(); ++i)
          ASSERT_EQ(s8 ? static_cast<int8_t>(q[i]) : q[i], quantize_value(v[i], sc, zp, lo, hi))
              << "x=" << v[i] << " scale=" << sc;
      }
    }
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(37), int64_t(997)}) {
      float lo = 0.f, hi = 0.f, rlo = 0.f, rhi = 0.f;
      e->minmax(x.data() + 3, n, &lo, &hi);  // starts at the NaN: ignored
      for (int64_t i = 0; i < n; ++i) {
        rlo = std::min(rlo, x[3 + i]);
        rhi = std::max(rhi, x[3 + i]);
      }
      EXPECT_EQ(lo, rlo) << n;
      EXPECT_EQ(hi, rhi) << n;
    }
  }
}

// Operators through the executor -------------------------------------------------------------------

Tensor q8(DType t, const Shape& s, Rng& rng) {
  Tensor r = Tensor::empty(t, s);
  for (int64_t i = 0; i < r.numel(); ++i) r.data<uint8_t>()[i] = static_cast<uint8_t>(rng.next());
  return r;
}
template <typename T>
Tensor scalar_of(DType t, T v) {
  Tensor r = Tensor::empty(t, {});
  *r.data<T>() = v;
  return r;
}
Tensor f32s(const std::vector<float>& v) {
  return Tensor::from_f32({static_cast<int64_t>(v.size())}, v);
}
Tensor i32s(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty(DType::I32, {static_cast<int64_t>(v.size())});
  std::memcpy(t.raw(), v.data(), v.size() * 4);
  return t;
}

TEST(QKernels, QLinearConvAppliesFusedActivationBounds) {
  Rng rng(11);
  const int64_t C = 5, M = 6, H = 9, W = 35;
  Tensor w = q8(DType::I8, {M, C, 3, 3}, rng);
  std::vector<float> ws;
  std::vector<int32_t> bias;
  for (int64_t m = 0; m < M; ++m) ws.push_back(0.002f + 0.001f * m), bias.push_back(300 * int32_t(m) - 700);
  const float xs = 0.02f, ys = 0.05f, act_lo = 0.f, act_hi = 3.f;
  for (bool x_signed : {false, true}) {
    const DType xt = x_signed ? DType::I8 : DType::U8;
    GraphBuilder b("qconv_act");
    auto x = b.input("x", xt, {1, C, H, W});
    auto xzp = x_signed ? scalar_of<int8_t>(DType::I8, -4) : scalar_of<uint8_t>(DType::U8, 120);
    auto yzp = x_signed ? scalar_of<int8_t>(DType::I8, 10) : scalar_of<uint8_t>(DType::U8, 30);
    auto y = b.op(
        "QLinearConv",
        {x, b.constant("xs", Tensor::scalar_f32(xs)), b.constant("xzp", xzp), b.constant("w", w),
         b.constant("ws", f32s(ws)), b.constant("wzp", Tensor::zeros(DType::I8, {M})),
         b.constant("ys", Tensor::scalar_f32(ys)), b.constant("yzp", yzp), b.constant("bias", i32s(bias))},
        {{"pads", Attribute::of_ints({1, 1, 1, 1})},
         {kActMin, Attribute::of_float(act_lo)},
         {kActMax, Attribute::of_float(act_hi)}});
    b.output(y, "y");
    Executor ex(b.finish());
    Tensor xin = q8(xt, {1, C, H, W}, rng);
    Tensor got = ex.run({{"x", xin}})[0];
    ConvGeometry g;
    g.C = C, g.H = H, g.W = W, g.KH = g.KW = 3, g.PT = g.PL = 1, g.OH = H, g.OW = W;
    std::vector<int32_t> acc(M * H * W);
    const int32_t xz = x_signed ? -4 : 120, yz = x_signed ? 10 : 30;
    qconv_ref(g, 1, 1, M, xin.raw(), x_signed, xz, w.raw(), true, {0}, acc.data());
    const int32_t tlo = x_signed ? -128 : 0, thi = x_signed ? 127 : 255;
    const int32_t qlo = std::max(tlo, quantize_value(act_lo, ys, yz, tlo, thi));
    const int32_t qhi = std::min(thi, quantize_value(act_hi, ys, yz, tlo, thi));
    int clamped = 0;
    for (int64_t i = 0; i < M * H * W; ++i) {
      const int64_t m = i / (H * W);
      const int32_t want = requantize(acc[i] + bias[m], xs * ws[m] / ys, yz, qlo, qhi);
      const int32_t have = x_signed ? got.data<int8_t>()[i] : got.data<uint8_t>()[i];
      ASSERT_EQ(have, want) << "element " << i;
      clamped += want == qlo || want == qhi;
    }
    EXPECT_GT(clamped, 10) << "the test data should reach the activation bounds";
  }
}

TEST(QKernels, QLinearMatMulTakesTheFusedBiasInput) {
  Rng rng(12);
  const int64_t M = 7, K = 19, N = 21;
  Tensor bq = q8(DType::I8, {K, N}, rng);
  std::vector<int32_t> bias;
  for (int64_t n = 0; n < N; ++n) bias.push_back(int32_t(n) * 97 - 1000);
  const float as = 0.03f, bs = 0.004f, ys = 0.02f;
  GraphBuilder b("qmm_bias");
  auto a = b.input("a", DType::U8, {M, K});
  auto y =
      b.op("QLinearMatMul",
           {a, b.constant("as", Tensor::scalar_f32(as)), b.constant("azp", scalar_of<uint8_t>(DType::U8, 7)),
            b.constant("b", bq), b.constant("bs", Tensor::scalar_f32(bs)),
            b.constant("bzp", scalar_of<int8_t>(DType::I8, 0)), b.constant("ys", Tensor::scalar_f32(ys)),
            b.constant("yzp", scalar_of<uint8_t>(DType::U8, 0)), b.constant("bias", i32s(bias))},
           {{kActMin, Attribute::of_float(0.f)}, {kActMax, Attribute::of_float(6.f)}});
  b.output(y, "y");
  Executor ex(b.finish());
  Tensor ain = q8(DType::U8, {M, K}, rng);
  Tensor got = ex.run({{"a", ain}})[0];
  const int32_t qhi = quantize_value(6.f, ys, 0, 0, 255);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t s = bias[n];
      for (int64_t k = 0; k < K; ++k)
        s += (ain.data<uint8_t>()[m * K + k] - 7) * bq.data<int8_t>()[k * N + n];
      ASSERT_EQ(got.data<uint8_t>()[m * N + n], requantize(s, as * bs / ys, 0, 0, qhi)) << m << "," << n;
    }
}

TEST(QKernels, ConvIntegerWithRuntimeWeights) {
  // Weights and zero point as graph inputs: nothing is packed when the kernel is created.
  Rng rng(13);
  const int64_t C = 3, M = 9, H = 7, W = 40;
  GraphBuilder b("convint_rt");
  auto x = b.input("x", DType::U8, {1, C, H, W});
  auto w = b.input("w", DType::U8, {M, C, 3, 3});
  auto y = b.op("ConvInteger", {x, w, b.constant("xzp", scalar_of<uint8_t>(DType::U8, 100))},
                {{"pads", Attribute::of_ints({1, 0, 1, 2})}, {"strides", Attribute::of_ints({1, 2})}});
  b.output(y, "y");
  Executor ex(b.finish());
  Tensor xin = q8(DType::U8, {1, C, H, W}, rng), win = q8(DType::U8, {M, C, 3, 3}, rng);
  Tensor got = ex.run({{"x", xin}, {"w", win}})[0];
  ConvGeometry g;
  g.C = C, g.H = H, g.W = W, g.KH = g.KW = 3, g.SW = 2, g.PT = 1, g.PL = 0;
  g.OH = H, g.OW = (W + 0 + 2 - 3) / 2 + 1;
  ASSERT_EQ(got.shape(), (Shape{1, M, g.OH, g.OW}));
  std::vector<int32_t> acc(M * g.P());
  qconv_ref(g, 1, 1, M, xin.raw(), false, 100, win.raw(), false, {0}, acc.data());
  EXPECT_EQ(0, std::memcmp(acc.data(), got.raw(), acc.size() * 4));
}

}  // namespace
}  // namespace tinyqat::test
