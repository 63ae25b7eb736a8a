#include "runtime/int8_speed.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "ir/node_macs.h"
#include "runtime/fuse.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/thread_pool.h"

namespace tinyqat {
namespace {

// Single-thread rates measured with `tinyqat bench --profile` on the fork's three models (fp32 and
// static int8) with TINYQAT_ISA set to each path (Xeon Sapphire Rapids; decision 0006). GMAC/s for the
// multiply-accumulate families, ns per element for every other node. The depthwise rates of the two
// AVX-512 rows were re-measured after the fp32 strips and the int8 phase kernels (2026-12-06, AMD EPYC
// Zen 5, nr_metric_v1's five depthwise convs: fp32 26, int8 VNNI 61, int8 AVX-512 8.4 GMAC/s). The int8
// GEMM rates were not raised with the faster MatMul: measured at 4096 rows they would be 121 / 51 / 25.6,
// but then the dynamic files' rescale cost is underestimated (the fork's dynamic vmaf_tiny_v4 on VNNI
// predicted 0.97× and measured 1.25×): decision 0006's addendum. The AVX2 dense fp32 rate was scaled
// from 34 to 38 when multi-channel convs moved to the channels-last rows kernel (2026-12-07: 0.87–0.89× the
// GEMM path's time in a same-binary A/B on an AVX2 Zen 3; no Sapphire Rapids here to re-measure on).
struct Rates {
  double dense_f32, dense_i8, depthwise_f32, depthwise_i8, gemm_f32, gemm_i8;
  double element_ns;
};
constexpr Rates kRates[] = {
    /* Vnni    */ {50, 240, 26, 61, 26, 47, 0.15},
    /* Avx512  */ {48, 85, 26, 8.6, 28, 10.5, 0.15},
    /* Avx2    */ {38, 37, 8.2, 5.4, 27, 12.7, 0.2},
    /* Generic */ {15, 7.2, 6.4, 2.5, 12.5, 4.4, 0.5},
};

double elements(const Graph& g, const std::string& v) {
  const auto d = shape_or_ones(g, v);
  double p = d ? 1 : 0;
  if (d)
    for (int64_t x : *d) p *= static_cast<double>(x);
  return p;
}

// Ops that only relabel a tensor's shape (no element is moved).
bool is_view(std::string_view op) {
  return op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Flatten" || op == "Identity" ||
         op == "Shape" || op == "Constant";
}

}  // namespace

KernelPath kernel_path() {
  if (cpu_has_avx512_vnni()) return KernelPath::Vnni;
  switch (cpu_isa()) {
    case Isa::Avx512:
      return KernelPath::Avx512;
    case Isa::Avx2:
      return KernelPath::Avx2;
    case Isa::Generic:
      break;
  }
  return KernelPath::Generic;
}

double int8_work_ns(double macs, MacFamily family) {
  static const KernelPath path = kernel_path();
  const Rates &vnni = kRates[static_cast<int>(KernelPath::Vnni)], &r = kRates[static_cast<int>(path)];
  double scale = vnni.gemm_i8 / r.gemm_i8;
  if (family == MacFamily::DenseConv) scale = vnni.dense_i8 / r.dense_i8;
  if (family == MacFamily::DepthwiseConv) scale = vnni.depthwise_i8 / r.depthwise_i8;
  return work::i8_macs(macs) * scale;
}

const char* kernel_path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Vnni:
      return "avx512-vnni";
    case KernelPath::Avx512:
      return "avx512";
    case KernelPath::Avx2:
      return "avx2";
    case KernelPath::Generic:
      break;
  }
  return "generic";
}

double predicted_run_ms(Model imported, KernelPath path) {
  fuse_qdq_for_runtime(imported.graph);
  fuse_for_runtime(imported.graph);
  return predicted_run_ms(imported.graph, path);
}

double predicted_run_ms(const Graph& g, KernelPath path) {
  const Rates& r = kRates[static_cast<int>(path)];
  double ns = 0;
  for (const Node& n : g.nodes) {
    const NodeMacs m = node_macs(g, n);
    if (m.family != MacFamily::None) {
      double gmacs = 0;
      switch (m.family) {
        case MacFamily::DenseConv:
          gmacs = m.integer ? r.dense_i8 : r.dense_f32;
          break;
        case MacFamily::DepthwiseConv:
          gmacs = m.integer ? r.depthwise_i8 : r.depthwise_f32;
          break;
        default:
          gmacs = m.integer ? r.gemm_i8 : r.gemm_f32;
          break;
      }
      ns += m.macs / gmacs;
      continue;
    }
    if (is_view(n.op_type)) continue;
    double e = n.outputs.empty() ? 0 : elements(g, n.outputs[0]);
    if (!n.inputs.empty()) e = std::max(e, elements(g, n.inputs[0]));  // pools and reductions read more
    ns += e * r.element_ns;
  }
  return ns * 1e-6;
}

Int8Speed compare_int8_speed(const Graph& int8_executed, Model fp32_imported, KernelPath path) {
  Int8Speed s;
  s.path = path;
  s.int8_ms = predicted_run_ms(int8_executed, path);
  s.fp32_ms = predicted_run_ms(std::move(fp32_imported), path);
  return s;
}

std::string describe(const Int8Speed& s) {
  return fmt::format(
      "on this CPU ({} kernels) the int8 file is predicted to take {:.2f}x the fp32 time ({:.3g} vs {:.3g} "
      "ms a "
      "run at the declared shapes)",
      kernel_path_name(s.path), s.ratio(), s.int8_ms, s.fp32_ms);
}

}  // namespace tinyqat
