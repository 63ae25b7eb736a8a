// The runtime's own graph rewrites and memory reuse.
#include <gtest/gtest.h>

#include "ir/summary.h"
#include "runtime/executor.h"
#include "runtime/fuse.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

std::map<std::string, int> ops_after_fusion(Model m) {
  fuse_for_runtime(m.graph);
  return summarize(m).op_histogram;
}

TEST(Fusion, LearnedFilterBecomesTenConvs) {
  auto ops = ops_after_fusion(zoo::learned_filter(1, 16, 4, 0));
  EXPECT_EQ(ops["Conv"], 10);
  EXPECT_EQ(ops.count("Relu"), 0u) << "each ReLU follows a conv";
  EXPECT_EQ(ops.count("Add"), 0u) << "each residual Add follows a conv";
  EXPECT_EQ(ops.count("Clip"), 0u) << "the final clamp follows the tail conv's Add";
}

TEST(Fusion, GemmAbsorbsActivationButNotAGraphOutput) {
  Fixture f;
  for (auto& x : fixtures())
    if (x.name == "gemm_fusions") f = x;
  auto ops = ops_after_fusion(f.model);
  EXPECT_EQ(ops["Gemm"], 3);
  EXPECT_EQ(ops.count("Clip"), 0u);
  EXPECT_EQ(ops["Relu"], 1) << "the Relu after a Gemm whose output is also a graph output must stay";
}

TEST(Fusion, FusedAndUnfusedRunsAgree) {
  // Same graph, with the activation made unfusable by giving the conv output a second reader.
  Model m = zoo::learned_filter(1, 8, 2, 3);
  Tensor x = luma_images(2, 40, 36, 9);
  Executor fused(m);
  Model plain = m;
  for (auto& n : plain.graph.nodes)
    if (n.op_type == "Conv") plain.graph.outputs.push_back(ValueInfo{n.outputs[0], DType::F32, false, {}});
  ASSERT_EQ(ops_after_fusion(plain)["Relu"], 2) << "the comparison graph must really stay unfused";
  Executor unfused(plain);
  auto a = fused.run({{"degraded", x}});
  auto b = unfused.run({{"degraded", x}});
  Agreement ag = compare_fp32(a[0], b[0], 1e-5);
  EXPECT_TRUE(ag.ok) << ag.where;
}

TEST(Executor, ReusesBuffersAcrossRuns) {
  Model m = zoo::learned_filter(1, 8, 2, 3);
  Tensor x = luma_images(1, 64, 64, 9);
  Executor ex(m);
  auto first = ex.run({{"degraded", x}});
  auto second = ex.run({{"degraded", x}});
  EXPECT_EQ(0, std::memcmp(first[0].raw(), second[0].raw(), first[0].nbytes()));
  EXPECT_NE(first[0].raw(), second[0].raw()) << "outputs still held by the caller are not recycled";
}

}  // namespace
}  // namespace tinyqat::test
