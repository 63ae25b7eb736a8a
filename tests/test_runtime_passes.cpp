// The runtime's own graph rewrites and memory reuse.
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ir/fold_batchnorm.h"
#include "ir/summary.h"
#include "quant/ptq.h"
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

// GELU written out in its erf form, as exporters write it. grouping 0: (x · (1 + erf(x / √2))) · 0.5;
// 1: (0.5 · x) · (1 + erf(x · 1/√2)) with the operands the other way round. `spoil`: 1 makes the Erf
// output a graph output too, 2 adds 2 instead of 1, 3 gives the 0.5 the shape [1, 1, 1] (it broadcasts
// y to rank 3) — none may fuse.
Model gelu_graph(int grouping, int spoil) {
  GraphBuilder b("gelu");
  auto x = b.input("x", DType::F32, {"N", 37});
  std::string scaled = grouping == 0
                           ? b.op("Div", {x, b.constant("sqrt2", Tensor::scalar_f32(1.41421356f))})
                           : b.op("Mul", {b.constant("rsqrt2", Tensor::scalar_f32(0.70710678f)), x});
  auto e = b.op("Erf", {scaled});
  if (spoil == 1) b.output(e);
  auto a = b.op("Add", {b.constant("one", Tensor::scalar_f32(spoil == 2 ? 2.f : 1.f)), e});
  auto half = b.constant("half", spoil == 3 ? Tensor::from_f32({1, 1, 1}, {0.5f}) : Tensor::scalar_f32(0.5f));
  auto y =
      grouping == 0 ? b.op("Mul", {b.op("Mul", {x, a}), half}) : b.op("Mul", {a, b.op("Mul", {half, x})});
  b.output(y, "y");
  return b.finish();
}

TEST(Fusion, GeluErfFormBecomesOneNodeInEitherGrouping) {
  Rng rng(5);
  Tensor x = random_tensor({64, 37}, rng, -7.f, 7.f);
  for (int grouping : {0, 1}) {
    Model m = gelu_graph(grouping, 0);
    auto ops = ops_after_fusion(m);
    EXPECT_EQ(ops["Gelu"], 1) << "grouping " << grouping;
    EXPECT_EQ(ops.size(), 1u) << "grouping " << grouping << ": Div/Mul, Erf, Add, Mul, Mul all absorbed";
    auto y = Executor(m).run({{"x", x}})[0];
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = x.data<float>()[i], ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      ASSERT_NEAR(y.data<float>()[i], ref, 3e-7 * std::max(1.0, std::fabs(v))) << "x = " << v;
    }
  }
  for (int spoil : {1, 2, 3}) {
    auto ops = ops_after_fusion(gelu_graph(0, spoil));
    EXPECT_EQ(ops.count("Gelu"), 0u) << "spoil " << spoil;
    EXPECT_EQ(ops["Erf"], 1) << "spoil " << spoil;
  }
  auto fr = ops_after_fusion(zoo::fr_regressor(7, 64, 2, 0.1f, 0));
  EXPECT_EQ(fr["Gelu"], 2) << "the fork's FR regressor: one GELU per hidden layer";
  EXPECT_EQ(fr.count("Erf"), 0u);
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

// Conv (grouped, with a bias whose weight another Conv also reads) → BN → Relu → ConvTranspose (grouped,
// no bias) → BN → pool → Gemm (transB, C, alpha, beta) → BN → Gemm (no C) → BN, with BN parameters far
// from the identity. `keep` makes every BN input a graph output too (the fold must then leave them).
Model batchnorm_chain(bool keep) {
  GraphBuilder b("bn_chain");
  Rng rng(11);
  auto x = b.input("x", DType::F32, {"N", 4, 10, 12});
  auto bn = [&](const std::string& v, int64_t c) {
    std::vector<std::string> in{v};
    for (auto [lo, hi] : {std::pair{-1.5f, 1.5f}, {-1.f, 1.f}, {-1.f, 1.f}, {0.05f, 3.f}})
      in.push_back(b.constant(b.model().graph.unique_name("bn_p"), random_tensor({c}, rng, lo, hi)));
    if (keep) b.output(v);
    return b.op("BatchNormalization", in, {{"epsilon", Attribute::of_float(1e-3f)}});
  };
  auto w1 = b.constant("w1", random_tensor({6, 2, 3, 3}, rng, -0.5f, 0.5f));
  auto b1 = b.constant("b1", random_tensor({6}, rng, -0.5f, 0.5f));
  const std::vector<std::pair<std::string, Attribute>> conv_attrs{{"group", Attribute::of_int(2)},
                                                                  {"pads", Attribute::of_ints({1, 1, 1, 1})}};
  auto c1 = b.op("Conv", {x, w1, b1}, conv_attrs);
  b.output(b.op("Conv", {x, w1, b1}, conv_attrs), "shared_weight");
  auto r1 = b.op("Relu", {bn(c1, 6)});
  auto w2 = b.constant("w2", random_tensor({6, 2, 2, 2}, rng, -0.5f, 0.5f));
  auto t2 = b.op("ConvTranspose", {r1, w2},
                 {{"group", Attribute::of_int(2)}, {"strides", Attribute::of_ints({2, 2})}});
  auto f = b.op("Flatten", {b.op("GlobalAveragePool", {bn(t2, 4)})});
  auto g3 = b.op("Gemm",
                 {f, b.constant("w3", random_tensor({5, 4}, rng, -1, 1)),
                  b.constant("c3", random_tensor({5}, rng, -1, 1))},
                 {{"transB", Attribute::of_int(1)},
                  {"alpha", Attribute::of_float(0.5f)},
                  {"beta", Attribute::of_float(2.f)}});
  auto g4 = b.op("Gemm", {bn(g3, 5), b.constant("w4", random_tensor({5, 3}, rng, -1, 1))});
  b.output(bn(g4, 3), "y");
  return b.finish();
}

TEST(Fusion, BatchNormFoldsIntoConvConvTransposeAndGemm) {
  Model folded = batchnorm_chain(false);
  auto ops = ops_after_fusion(folded);
  EXPECT_EQ(ops.count("BatchNormalization"), 0u);
  EXPECT_EQ(ops.count("Relu"), 0u) << "the Relu after a folded BN fuses into the Conv";
  Model kept = batchnorm_chain(true);
  Model probe = kept;
  EXPECT_TRUE(fold_batchnorm(probe.graph).empty()) << "a BN input that is also a graph output stays";
  Graph g = folded.graph;
  const Tensor w1 = *g.initializer("w1");
  ASSERT_EQ(fold_batchnorm(g).size(), 4u);
  ASSERT_NE(g.initializer("w1"), nullptr) << "the other Conv still reads w1";
  EXPECT_EQ(0, std::memcmp(g.initializer("w1")->raw(), w1.raw(), w1.nbytes()));
  Rng rng(3);
  const Tensor x = random_tensor({2, 4, 10, 12}, rng, -2, 2);
  auto a = Executor(folded).run({{"x", x}});
  auto b = Executor(kept).run({{"x", x}});
  auto output = [](const Model& m, const std::vector<Tensor>& outs, const std::string& name) {
    for (size_t i = 0; i < m.graph.outputs.size(); ++i)
      if (m.graph.outputs[i].name == name) return outs.at(i);
    ADD_FAILURE() << "no output " << name;
    return Tensor{};
  };
  for (const char* name : {"y", "shared_weight"}) {
    Agreement ag = compare_fp32(output(folded, a, name), output(kept, b, name), 1e-5);
    EXPECT_TRUE(ag.ok) << name << ": " << ag.where;
  }
  const Tensor sa = output(folded, a, "shared_weight"), sb = output(kept, b, "shared_weight");
  EXPECT_EQ(0, std::memcmp(sa.raw(), sb.raw(), sa.nbytes())) << "the shared-weight Conv is untouched";
}

TEST(Fusion, BatchNormWithRunTimeParametersStays) {
  GraphBuilder b("bn_input");
  Rng rng(5);
  auto x = b.input("x", DType::F32, {1, 2, 4, 4});
  auto mean = b.input("mean", DType::F32, {2});
  auto c = b.op("Conv", {x, b.constant("w", random_tensor({2, 2, 1, 1}, rng, -1, 1))});
  std::vector<std::string> in{c, b.constant("s", random_tensor({2}, rng, 0.5f, 1)),
                              b.constant("o", random_tensor({2}, rng, -1, 1)), mean,
                              b.constant("v", random_tensor({2}, rng, 0.5f, 1))};
  b.output(b.op("BatchNormalization", in), "y");
  Model m = b.finish();
  EXPECT_TRUE(fold_batchnorm(m.graph).empty());
  EXPECT_EQ(ops_after_fusion(m)["BatchNormalization"], 1);

  // A weight with an empty axis (a hostile file): nothing to fold, no division by that axis.
  Graph g;
  g.inputs.push_back(ValueInfo{"x", DType::F32, false, {}});
  g.outputs.push_back(ValueInfo{"y", DType::F32, false, {}});
  g.initializers["w"] = Tensor::zeros(DType::F32, {0, 2, 2, 2});
  for (const char* p : {"s", "o", "m", "v"}) g.initializers[p] = Tensor::from_f32({2}, {1.f, 1.f});
  g.nodes.push_back(Node{"t", "ConvTranspose", "", {"x", "w"}, {"c"}, {}});
  g.nodes.push_back(Node{"bn", "BatchNormalization", "", {"c", "s", "o", "m", "v"}, {"y"}, {}});
  EXPECT_TRUE(fold_batchnorm(g).empty());
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

// A static-PTQ learned filter (QLinearConv, QLinearAdd; dynamic H and W).
Model int8_filter() {
  Model fp32 = zoo::learned_filter(1, 8, 2, 3);
  return quant::ptq_static(fp32, {{"degraded", luma_images(4, 32, 32, 5)}}, {}, nullptr);
}

TEST(Runtime, KernelsPlanOncePerInputShape) {
  Executor ex(int8_filter());
  int prepared = 0;
  for (const auto& n : ex.model().graph.nodes) prepared += n.op_type == "QLinearConv";
  ASSERT_GT(prepared, 0);
  const Tensor a = luma_images(1, 40, 36, 9), b = luma_images(2, 24, 28, 10);
  auto first = ex.run({{"degraded", a}});
  EXPECT_EQ(ex.plans_made(), prepared) << "one plan per integer convolution for the first shape";
  auto again = ex.run({{"degraded", a}});
  EXPECT_EQ(ex.plans_made(), prepared) << "the same shape again: no re-planning";
  EXPECT_EQ(0, std::memcmp(first[0].raw(), again[0].raw(), first[0].nbytes()));
  auto other = ex.run({{"degraded", b}});
  EXPECT_EQ(ex.plans_made(), 2 * prepared) << "a new shape is planned";
  Executor fresh(int8_filter());
  auto ref = fresh.run({{"degraded", b}});
  EXPECT_EQ(0, std::memcmp(other[0].raw(), ref[0].raw(), ref[0].nbytes()));
  auto back = ex.run({{"degraded", a}});
  EXPECT_EQ(0, std::memcmp(first[0].raw(), back[0].raw(), first[0].nbytes()));
}

// Requantisation and epilogue built once from constant parameters give the bits of the generic path
// that reads the parameters at run time (here: the same values fed as graph inputs).
TEST(Runtime, ConstantParametersGiveTheBitsOfTheRunTimePath) {
  Model fp32 = zoo::build("nr_metric", {}, 4);
  const auto& in = fp32.graph.inputs[0];
  const int64_t h = in.shape[2].is_known() ? in.shape[2].value : 64,
                w = in.shape[3].is_known() ? in.shape[3].value : 64;
  const Tensor x = luma_images(2, h, w, 3);
  Model q = quant::ptq_static(fp32, {{in.name, x}}, {}, nullptr);
  Executor constant(q);
  Model fed = constant.model();  // already fused: QLinearConv / QLinearMatMul with constant parameters
  NamedTensors feeds = {{in.name, x}};
  int rewired = 0;
  for (auto& n : fed.graph.nodes) {
    if (n.op_type != "QLinearConv" && n.op_type != "QLinearMatMul") continue;
    for (size_t i : {1, 2, 4, 6, 7, 8}) {
      if (i >= n.inputs.size() || n.inputs[i].empty()) continue;
      const Tensor& t = fed.graph.initializers.at(n.inputs[i]);
      const std::string name = n.name + "_fed_" + std::to_string(i);
      ValueInfo vi;
      vi.name = name;
      vi.dtype = t.dtype();
      fed.graph.inputs.push_back(vi);
      feeds.emplace_back(name, t);
      n.inputs[i] = name;
    }
    ++rewired;
  }
  ASSERT_GT(rewired, 5);
  Executor run_time(fed);
  auto a = constant.run({{in.name, x}});
  auto b = run_time.run(feeds);
  ASSERT_EQ(a[0].nbytes(), b[0].nbytes());
  EXPECT_EQ(0, std::memcmp(a[0].raw(), b[0].raw(), a[0].nbytes()));
}

}  // namespace
}  // namespace tinyqat::test
