// The work each node does (ir/node_macs.h) and the runtime's int8-versus-fp32 prediction from it
// (runtime/int8_speed.h): what a session reads before it keeps a verified int8 file.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/file_util.h"
#include "ir/node_macs.h"
#include "onnx/onnx_io.h"
#include "quant/ptq.h"
#include "registry/registry.h"
#include "runtime/executor.h"
#include "runtime/int8_speed.h"
#include "runtime/thread_pool.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

constexpr KernelPath kPaths[] = {KernelPath::Vnni, KernelPath::Avx512, KernelPath::Avx2, KernelPath::Generic};

// nr_metric (width 8) on a fixed [2,1,32,32] input: the stem, the first depthwise and pointwise convs, the
// head Gemm.
TEST(NodeMacs, CountsTheProductsOfEachFamily) {
  Model m = zoo::nr_metric(1, 8, 3);
  m.graph.inputs[0].shape = {Dim::known(2), Dim::known(1), Dim::known(32), Dim::known(32)};
  m.graph.value_info.clear();
  infer_shapes(m);
  std::vector<NodeMacs> convs, gemms;
  for (const Node& n : m.graph.nodes) {
    const NodeMacs x = node_macs(m.graph, n);
    if (n.op_type == "Conv") convs.push_back(x);
    if (n.op_type == "Gemm") gemms.push_back(x);
    if (n.op_type != "Conv" && n.op_type != "Gemm") {
      EXPECT_EQ(x.family, MacFamily::None) << n.describe();
    }
  }
  ASSERT_EQ(convs.size(), 11u);
  ASSERT_EQ(gemms.size(), 1u);
  // Stem: 3×3 stride 2, 1 → 8 channels: [2,8,16,16] outputs × 9 products.
  EXPECT_EQ(convs[0].family, MacFamily::DenseConv);
  EXPECT_DOUBLE_EQ(convs[0].macs, 2.0 * 8 * 16 * 16 * 9);
  // The first block's depthwise 3×3 has stride 2 on 8 channels: [2,8,8,8] outputs × 9 products each.
  EXPECT_EQ(convs[1].family, MacFamily::DepthwiseConv);
  EXPECT_DOUBLE_EQ(convs[1].macs, 2.0 * 8 * 8 * 8 * 9);
  // Pointwise 8 → 16: [2,16,8,8] outputs × 8 products.
  EXPECT_EQ(convs[2].family, MacFamily::DenseConv);
  EXPECT_DOUBLE_EQ(convs[2].macs, 2.0 * 16 * 8 * 8 * 8);
  // Head Linear(64 → 1) on 2 rows.
  EXPECT_EQ(gemms[0].family, MacFamily::Gemm);
  EXPECT_DOUBLE_EQ(gemms[0].macs, 2.0 * 1 * 64);
  for (const auto& x : convs) EXPECT_FALSE(x.integer);

  // After static PTQ and the runtime's QDQ fusion the same convolutions are integer ones, same work.
  Model q = quant::ptq_static(m, {{"frame", luma_images(4, 32, 32, 5)}}, {}, nullptr);
  Executor ex(q);
  const Graph& g = ex.model().graph;
  int integer = 0;
  for (const Node& n : g.nodes)
    if (const NodeMacs x = node_macs(g, n); x.integer) {
      ++integer;
      if (n.name == m.graph.nodes[0].name || x.family == MacFamily::DepthwiseConv) {
        EXPECT_GT(x.macs, 0);
      }
    }
  EXPECT_EQ(integer, 12) << "11 QLinearConv and the head's QLinearMatMul";
}

// Int8 pays off where the integer kernels outrun the float ones by more than the extra conversions cost:
// on the VNNI path for convolutions and GEMMs, on AVX-512 for dense convolutions, on the generic path
// never (decision 0006 has the measurements behind the rates).
TEST(Int8Speed, FollowsTheKernelPathAndTheKindOfWork) {
  Model conv = zoo::learned_filter(1, 16, 2, 3);
  conv.graph.inputs[0].shape = {Dim::symbol("N"), Dim::known(1), Dim::known(64), Dim::known(64)};
  infer_shapes(conv);
  Model conv_q = quant::ptq_static(conv, {{"degraded", luma_images(4, 64, 64, 5)}}, {}, nullptr);
  Model mlp = zoo::mlp(6, {64, 64, 32}, "relu", std::vector<float>(6, 0.5f), std::vector<float>(6, 0.25f), 3);
  Rng rng(4);
  Model mlp_q = quant::ptq_static(mlp, {{"features", random_tensor({64, 6}, rng, 0.f, 1.f)}}, {}, nullptr);
  Executor conv_x(conv_q), mlp_x(mlp_q);
  auto ratio = [](const Executor& x, const Model& f, KernelPath p) {
    return compare_int8_speed(x.model().graph, f, p);
  };
  EXPECT_LT(ratio(conv_x, conv, KernelPath::Vnni).ratio(), 0.5);
  EXPECT_LT(ratio(conv_x, conv, KernelPath::Avx512).ratio(), 1.0);
  EXPECT_TRUE(ratio(conv_x, conv, KernelPath::Generic).slower());
  EXPECT_FALSE(ratio(mlp_x, mlp, KernelPath::Vnni).slower());
  EXPECT_TRUE(ratio(mlp_x, mlp, KernelPath::Avx512).slower());
  EXPECT_TRUE(ratio(mlp_x, mlp, KernelPath::Generic).slower());
  // Every path predicts a positive time, and the fp32 side does not depend on which file is int8.
  for (KernelPath p : kPaths) {
    const Int8Speed s = ratio(conv_x, conv, p);
    EXPECT_GT(s.int8_ms, 0) << kernel_path_name(p);
    EXPECT_DOUBLE_EQ(s.fp32_ms, predicted_run_ms(conv, p));
    EXPECT_NE(describe(s).find(kernel_path_name(p)), std::string::npos) << describe(s);
  }
}

// The thread pool's int8 work estimates assume the VNNI path (work::i8_macs); on every other path each
// family's multiply-accumulates are scaled by how much slower that path's kernels are, so that a conv the
// VNNI estimate keeps on one thread is split where it really takes long (AVX2's int8 depthwise convs).
TEST(Int8Speed, ThreadPoolWorkIsScaledToThisCpusKernels) {
  const KernelPath p = kernel_path();
  const double macs = 1e6;
  for (MacFamily f : {MacFamily::DenseConv, MacFamily::DepthwiseConv, MacFamily::Gemm}) {
    const double s = int8_work_ns(macs, f) / work::i8_macs(macs);
    if (p == KernelPath::Vnni) {
      EXPECT_EQ(s, 1.0) << mac_family_name(f);
    } else {
      EXPECT_GT(s, 1.5) << mac_family_name(f) << " on the " << kernel_path_name(p) << " path";
    }
  }
}

// A registry entry whose int8 twin is predicted slower on the generic path: `resolve` (a session) runs
// fp32 there and says why; --force-int8 keeps the int8 file; on this CPU's own path the prediction
// decides the same way the library does.
TEST(Int8Speed, SessionFallsBackWhereInt8IsSlowerUnlessForced) {
  fs::path dir = temp_dir("int8_speed_session");
  Model fp32 = zoo::mlp(6, {64, 64}, "relu", std::vector<float>(6, 0.5f), std::vector<float>(6, 0.25f), 3);
  Rng rng(4);
  Model q = quant::ptq_static(fp32, {{"features", random_tensor({64, 6}, rng, 0.f, 1.f)}}, {}, nullptr);
  export_onnx(fp32, (dir / "m.onnx").string());
  export_onnx(q, (dir / "m.int8.onnx").string());
  ASSERT_EQ(
      cli("registry add " + (dir / "reg.json").string() + " --id m --onnx " + (dir / "m.onnx").string() +
              " --int8 " + (dir / "m.int8.onnx").string() + " --license MIT",
          dir)
          .code,
      0);
  const std::string resolve = "resolve --registry " + (dir / "reg.json").string() + " --id m";
  ::setenv("TINYQAT_ISA", "generic", 1);
  CliResult slow = cli(resolve, dir), forced = cli(resolve + " --force-int8", dir);
  ::unsetenv("TINYQAT_ISA");
  ASSERT_EQ(slow.code, 0) << slow.err;
  EXPECT_NE(slow.out.find("variant=fp32"), std::string::npos) << slow.out;
  EXPECT_NE(slow.out.find("reason=int8-slower-on-this-cpu"), std::string::npos) << slow.out;
  EXPECT_NE(slow.out.find("generic kernels"), std::string::npos) << slow.out;
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.out.find("variant=int8"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("reason=int8-unmeasured"), std::string::npos) << forced.out;
  EXPECT_NE(cli(resolve + " --force-int8 --prefer-fp32", dir).code, 0)
      << "the two options exclude each other";

  Executor x(q);
  const bool slower_here = compare_int8_speed(x.model().graph, fp32, kernel_path()).slower();
  CliResult here = cli(resolve, dir);
  ASSERT_EQ(here.code, 0) << here.err;
  EXPECT_NE(here.out.find(slower_here ? "reason=int8-slower-on-this-cpu" : "reason=int8-unmeasured"),
            std::string::npos)
      << here.out;
}

}  // namespace
}  // namespace tinyqat::test
