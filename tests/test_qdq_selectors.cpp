// The selectors of src/qdq — which node groups quantize as a unit — on both forms a graph takes: fp32
// (what the quantizer's plan reads) and QDQ (what the plan writes and the runtime's integer fusion
// reads). Each pattern is accepted, each disqualifier refused, and on every fixture and zoo model the
// two actions agree: every unit the plan quantized becomes an integer op in the runtime's graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "qdq/selectors.h"
#include "quant/plan.h"
#include "quant/ptq.h"
#include "runtime/executor.h"
#include "runtime/fuse.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

using qdq::Pattern;

Attribute I(int64_t v) {
  return Attribute::of_int(v);
}
Attribute F(float v) {
  return Attribute::of_float(v);
}
Tensor rnd(const Shape& s, uint64_t seed) {
  Rng r(seed);
  return random_tensor(s, r, -0.5f, 0.5f);
}

int node_of(const Graph& g, const std::string& output) {
  return g.producer(output);
}

// The QDQ form of an fp32 graph as the plan writes it (fixed activation parameters, no calibration);
// by default with every output quantized, the form the float-head rule leaves alone.
Model qdq_of(const Model& fp32, bool quantize_outputs = true, quant::QuantPlan* plan_out = nullptr) {
  quant::PtqReport rep;
  quant::QConfig cfg;
  cfg.quantize_outputs = quantize_outputs;
  quant::QuantPlan plan = quant::plan_static(fp32.graph, cfg, &rep);
  std::map<std::string, quant::QParams> acts;
  for (const auto& t : plan.tensors)
    acts[t] = quant::qparams_for_range(-1.f, 3.f, quant::ActScheme::Asymmetric);
  if (plan_out) *plan_out = plan;
  return quant::write_qdq(fp32, plan, acts, &rep);
}

// The node of a QDQ graph that still carries the fp32 node's name.
int named(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

// x → Conv(w, b) → Relu → output
Model conv_relu() {
  GraphBuilder b("conv_relu");
  auto x = b.input("x", DType::F32, {"N", 2, 8, 8});
  auto c = b.op("Conv", {x, b.constant("w", rnd({4, 2, 3, 3}, 1)), b.constant("b", rnd({4}, 2))},
                {{"pads", Attribute::of_ints({1, 1, 1, 1})}});
  b.output(b.op("Relu", {c}), "y");
  return b.finish();
}

// x → Gemm(B, C) (attributes as given) → Clip(0, 6) → output
Model gemm_clip(std::vector<std::pair<std::string, Attribute>> attrs, Shape w_shape, int64_t c_len) {
  GraphBuilder b("gemm_clip");
  auto x = b.input("x", DType::F32, {"N", 6});
  std::vector<std::string> in = {x, b.constant("B", rnd(w_shape, 3))};
  if (c_len >= 0) in.push_back(b.constant("C", rnd({c_len}, 4)));
  auto g = b.op("Gemm", in, std::move(attrs));
  b.output(
      b.op("Clip", {g, b.constant("lo", Tensor::scalar_f32(0.f)), b.constant("hi", Tensor::scalar_f32(6.f))}),
      "y");
  return b.finish();
}

// ------------------------------------------------------------------ the definition

TEST(Selectors, OpTableNamesEveryPattern) {
  auto pattern = [](const char* op, const char* domain = "") {
    Node n;
    n.op_type = op;
    n.domain = domain;
    return qdq::pattern_of(n);
  };
  EXPECT_EQ(pattern("Conv").pattern, Pattern::WeightedUnit);
  EXPECT_EQ(pattern("Gemm").pattern, Pattern::WeightedUnit);
  EXPECT_EQ(pattern("MatMul").pattern, Pattern::WeightedUnit);
  EXPECT_EQ(pattern("Add").pattern, Pattern::BinaryAdd);
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean"})
    EXPECT_EQ(pattern(op).pattern, Pattern::Pool) << op;
  EXPECT_TRUE(pattern("MaxPool").ties);
  EXPECT_FALSE(pattern("AveragePool").ties);
  for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"}) {
    EXPECT_EQ(pattern(op).pattern, Pattern::PassThrough) << op;
    EXPECT_TRUE(pattern(op).ties) << op;
  }
  EXPECT_EQ(pattern("Concat").pattern, Pattern::Concat);
  for (const char* op : {"Constant", "Shape", "Gather"})
    EXPECT_EQ(pattern(op).pattern, Pattern::NoData) << op;
  EXPECT_EQ(pattern("Sigmoid").pattern, Pattern::None);
  EXPECT_EQ(pattern("Conv", "com.microsoft").pattern, Pattern::None);
}

TEST(Selectors, WeightedOpRulesAndWeightAxis) {
  std::string why;
  Node conv{"c", "Conv", "", {"x", "w"}, {"y"}, {}};
  EXPECT_EQ(qdq::weighted_op_axis(conv, {4, 2, 3, 3}, 4, &why), 0);
  Node mm{"m", "MatMul", "", {"x", "w"}, {"y"}, {}};
  EXPECT_EQ(qdq::weighted_op_axis(mm, {6, 3}, -1, &why), 1);
  EXPECT_FALSE(qdq::weighted_op_axis(mm, {2, 6, 3}, -1, &why));
  EXPECT_EQ(why, "B is not 2-D");
  Node gemm{"g", "Gemm", "", {"x", "w", "c"}, {"y"}, {}};
  EXPECT_EQ(qdq::weighted_op_axis(gemm, {6, 3}, 3, &why), 1);
  gemm.attrs["transB"] = I(1);
  EXPECT_EQ(qdq::weighted_op_axis(gemm, {3, 6}, 3, &why), 0);
  EXPECT_FALSE(qdq::weighted_op_axis(gemm, {3, 6}, 6, &why)) << "C must have one value per output";
  EXPECT_EQ(why, "C is not a per-output bias");
  gemm.attrs["alpha"] = F(2.f);
  EXPECT_FALSE(qdq::weighted_op_axis(gemm, {3, 6}, 3, &why));
  gemm.attrs.erase("alpha");
  gemm.attrs["beta"] = F(0.5f);
  EXPECT_FALSE(qdq::weighted_op_axis(gemm, {3, 6}, 3, &why));
  gemm.attrs.erase("beta");
  gemm.attrs["transA"] = I(1);
  EXPECT_FALSE(qdq::weighted_op_axis(gemm, {3, 6}, 3, &why));
  EXPECT_EQ(why, "transA is not supported");
}

TEST(Selectors, FusedActivationIsTheOnlyReaderWithKnownBounds) {
  Model m = conv_relu();
  const Graph& g = m.graph;
  const int conv = node_of(g, g.nodes[node_of(g, "y")].inputs[0]);
  EXPECT_EQ(qdq::fused_activation(g, g.nodes[conv].outputs[0]), node_of(g, "y"));
  // A second reader of the pre-activation value, or the value being a graph output: no fusion.
  GraphBuilder b("two_readers");
  auto x = b.input("x", DType::F32, {"N", 6});
  auto h = b.op("MatMul", {x, b.constant("w", rnd({6, 3}, 5))});
  b.output(b.op("Relu", {h}), "r");
  b.output(b.op("Sigmoid", {h}), "s");
  Model m2 = b.finish();
  EXPECT_EQ(qdq::fused_activation(m2.graph, m2.graph.nodes[0].outputs[0]), -1);
  GraphBuilder b3("output_too");
  auto x3 = b3.input("x", DType::F32, {"N", 6});
  auto h3 = b3.op("MatMul", {x3, b3.constant("w", rnd({6, 3}, 5))});
  auto r3 = b3.op("Relu", {h3});
  b3.output(h3, "pre");
  b3.output(r3, "post");
  Model m3 = b3.finish();
  EXPECT_EQ(qdq::fused_activation(m3.graph, "pre"), -1);
  // Clip with a bound computed at run time: not an activation the unit can absorb.
  GraphBuilder b4("computed_clip");
  auto x4 = b4.input("x", DType::F32, {"N", 6});
  auto h4 = b4.op("MatMul", {x4, b4.constant("w", rnd({6, 3}, 5))});
  auto hi = b4.op("ReduceMean", {x4}, {{"keepdims", I(0)}});
  b4.output(b4.op("Clip", {h4, b4.constant("lo", Tensor::scalar_f32(0.f)), hi}), "y");
  Model m4 = b4.finish();
  EXPECT_EQ(qdq::fused_activation(m4.graph, h4), -1);
}

// ------------------------------------------------------------------ weighted units, both forms

TEST(Selectors, ConvUnitOnBothForms) {
  Model fp32 = conv_relu();
  const Graph& g = fp32.graph;
  const int relu = node_of(g, "y"), conv = node_of(g, g.nodes[relu].inputs[0]);
  std::string why;
  auto u = qdq::select_weighted_unit(g, conv, &why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->activation, relu);
  EXPECT_EQ(u->weight_axis, 0);
  EXPECT_EQ(u->input, "x");
  EXPECT_EQ(u->weight, "w");
  EXPECT_EQ(u->bias, "b");
  EXPECT_EQ(u->op_output, g.nodes[conv].outputs[0]);
  EXPECT_EQ(u->output, "y");

  Model q = qdq_of(fp32);
  const int qc = named(q.graph, g.nodes[conv].name);
  auto qu = qdq::select_qdq_weighted_unit(q.graph, qc, &why);
  ASSERT_TRUE(qu) << why;
  EXPECT_EQ(qu->weight_axis, 0);
  EXPECT_TRUE(qu->b.has_value());
  EXPECT_EQ(q.graph.nodes[qu->q].op_type, "QuantizeLinear");
  // and the activation after it is a clamp in the integer domain
  const Node& qn = q.graph.nodes[qu->q];
  auto clamp = qdq::select_qdq_clamp(q.graph, qn.outputs[0], qn.inputs[1], qn.inputs[2]);
  ASSERT_TRUE(clamp);
  EXPECT_EQ(q.graph.nodes[clamp->activation].op_type, "Relu");
  EXPECT_EQ(clamp->lo, 0.f);
  EXPECT_TRUE(std::isinf(clamp->hi));
}

TEST(Selectors, GemmAndMatMulUnitsOnBothForms) {
  for (int trans_b : {0, 1}) {
    Model fp32 = gemm_clip({{"transB", I(trans_b)}}, trans_b ? Shape{3, 6} : Shape{6, 3}, 3);
    const Graph& g = fp32.graph;
    const int gemm = node_of(g, g.nodes[node_of(g, "y")].inputs[0]);
    std::string why;
    auto u = qdq::select_weighted_unit(g, gemm, &why);
    ASSERT_TRUE(u) << why;
    EXPECT_EQ(u->weight_axis, trans_b ? 0 : 1);
    EXPECT_EQ(g.nodes[u->activation].op_type, "Clip");
    Model q = qdq_of(fp32);
    auto qu = qdq::select_qdq_weighted_unit(q.graph, named(q.graph, g.nodes[gemm].name), &why);
    ASSERT_TRUE(qu) << why;
    EXPECT_EQ(qu->weight_axis, trans_b ? 0 : 1);
    const Node& qn = q.graph.nodes[qu->q];
    auto clamp = qdq::select_qdq_clamp(q.graph, qn.outputs[0], qn.inputs[1], qn.inputs[2]);
    ASSERT_TRUE(clamp);
    EXPECT_EQ(clamp->lo, 0.f);
    EXPECT_EQ(clamp->hi, 6.f);
  }
  GraphBuilder b("matmul");
  auto x = b.input("x", DType::F32, {"N", 6});
  b.output(b.op("MatMul", {x, b.constant("w", rnd({6, 3}, 6))}), "y");
  Model fp32 = b.finish();
  std::string why;
  auto u = qdq::select_weighted_unit(fp32.graph, 0, &why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->weight_axis, 1);
  EXPECT_EQ(u->activation, -1);
  Model q = qdq_of(fp32);
  auto qu = qdq::select_qdq_weighted_unit(q.graph, named(q.graph, fp32.graph.nodes[0].name), &why);
  ASSERT_TRUE(qu) << why;
  EXPECT_FALSE(qu->b.has_value());
}

TEST(Selectors, Fp32FormRefusesWhatHasNoIntegerForm) {
  std::string why;
  auto refused = [&](const Model& m, const std::string& op) {
    for (size_t i = 0; i < m.graph.nodes.size(); ++i)
      if (m.graph.nodes[i].op_type == op)
        return !qdq::select_weighted_unit(m.graph, static_cast<int>(i), &why);
    ADD_FAILURE() << "no " << op;
    return false;
  };
  EXPECT_TRUE(refused(gemm_clip({{"transA", I(1)}}, {6, 3}, 3), "Gemm"));
  EXPECT_EQ(why, "transA is not supported");
  EXPECT_TRUE(refused(gemm_clip({{"alpha", F(0.5f)}}, {6, 3}, 3), "Gemm"));
  EXPECT_EQ(why, "alpha/beta other than 1");
  EXPECT_TRUE(refused(gemm_clip({{"beta", F(2.f)}}, {6, 3}, 3), "Gemm"));
  EXPECT_TRUE(refused(gemm_clip({}, {6, 3}, 1), "Gemm"));
  EXPECT_EQ(why, "C is not a per-output bias");
  {  // weight computed at run time
    GraphBuilder b("computed_w");
    auto x = b.input("x", DType::F32, {"N", 6});
    auto w = b.op("Relu", {b.constant("w", rnd({6, 3}, 7))});
    b.output(b.op("MatMul", {x, w}), "y");
    EXPECT_TRUE(refused(b.finish(), "MatMul"));
    EXPECT_EQ(why, "B is not a 2-D float initializer");
  }
  {  // bias computed at run time
    GraphBuilder b("computed_b");
    auto x = b.input("x", DType::F32, {"N", 2, 4, 4});
    auto bias = b.op("Relu", {b.constant("b", rnd({3}, 8))});
    b.output(b.op("Conv", {x, b.constant("w", rnd({3, 2, 1, 1}, 9)), bias}), "y");
    EXPECT_TRUE(refused(b.finish(), "Conv"));
    EXPECT_EQ(why, "bias is not a float initializer");
  }
  {  // constant input: nothing to quantize at run time
    GraphBuilder b("const_in");
    auto x = b.input("x", DType::F32, {"N", 3});
    auto c = b.op("MatMul", {b.constant("a", rnd({2, 6}, 10)), b.constant("w", rnd({6, 3}, 11))});
    b.output(b.op("Add", {x, c}), "y");
    EXPECT_TRUE(refused(b.finish(), "MatMul"));
    EXPECT_EQ(why, "input is constant");
  }
}

// The QDQ form of a valid unit, then one thing broken at a time.
TEST(Selectors, QdqFormRefusesEachDisqualifier) {
  Model fp32 = gemm_clip({{"transB", I(1)}}, {3, 6}, 3);
  const std::string gemm_name =
      fp32.graph.nodes[node_of(fp32.graph, fp32.graph.nodes[node_of(fp32.graph, "y")].inputs[0])].name;
  const Model good = qdq_of(fp32);
  std::string why;
  ASSERT_TRUE(qdq::select_qdq_weighted_unit(good.graph, named(good.graph, gemm_name), &why)) << why;
  auto refused = [&](const std::function<void(Graph&, int)>& breaks) {
    Model m = good;
    const int i = named(m.graph, gemm_name);
    breaks(m.graph, i);
    return !qdq::select_qdq_weighted_unit(m.graph, i, &why);
  };
  auto dq_of = [](Graph& g, const std::string& v) -> Node& { return g.nodes[g.producer(v)]; };
  EXPECT_TRUE(refused([](Graph& g, int i) { g.nodes[i].attrs["transA"] = I(1); }));
  EXPECT_EQ(why, "transA is not supported");
  EXPECT_TRUE(refused([](Graph& g, int i) { g.nodes[i].attrs["alpha"] = F(2.f); }));
  EXPECT_TRUE(refused([&](Graph& g, int i) {  // per-channel scales along the wrong axis
    dq_of(g, g.nodes[i].inputs[1]).attrs["axis"] = I(1);
  }));
  EXPECT_EQ(why, "weight scales are not along the output-channel axis");
  EXPECT_TRUE(refused([&](Graph& g, int i) {  // bias at a scale other than x_scale·w_scale
    Node& dq = dq_of(g, g.nodes[i].inputs[2]);
    Tensor s = g.initializers.at(dq.inputs[1]).clone();
    s.data<float>()[0] *= 1.01f;
    g.initializers[dq.inputs[1]] = s;
  }));
  EXPECT_TRUE(refused([&](Graph& g, int i) {  // float weight: no DequantizeLinear in front
    g.nodes[i].inputs[1] = "B";
    g.initializers["B"] = rnd({3, 6}, 3);
  }));
  EXPECT_TRUE(refused([&](Graph& g, int i) {  // per-channel activation parameters
    Node& dq = dq_of(g, g.nodes[i].inputs[0]);
    g.initializers[dq.inputs[1]] = Tensor::from_f32({2}, {0.1f, 0.1f});
  }));
  EXPECT_TRUE(refused([&](Graph& g, int i) {  // the op's output read by something else too
    g.nodes.push_back(Node{"extra", "Sigmoid", "", {g.nodes[i].outputs[0]}, {"extra_out"}, {}});
  }));
  EXPECT_TRUE(refused([&](Graph& g, int i) {  // the op's output is a graph output
    ValueInfo out;
    out.name = g.nodes[i].outputs[0];
    g.outputs.push_back(out);
  }));

  // The clamp: the QuantizeLinear after the activation must carry the same parameters.
  Model m = good;
  auto u = qdq::select_qdq_weighted_unit(m.graph, named(m.graph, gemm_name), &why);
  const Node& qn = m.graph.nodes[u->q];
  auto clamp = qdq::select_qdq_clamp(m.graph, qn.outputs[0], qn.inputs[1], qn.inputs[2]);
  ASSERT_TRUE(clamp);
  const std::string after = m.graph.nodes[clamp->q].inputs[1];
  m.graph.initializers[after] = Tensor::scalar_f32(m.graph.initializers.at(after).data<float>()[0] * 2);
  EXPECT_FALSE(qdq::select_qdq_clamp(m.graph, qn.outputs[0], qn.inputs[1], qn.inputs[2]));
}

// ------------------------------------------------------------------ binary Add, pools, ties

Model residual_add(bool same_shape) {
  GraphBuilder b("residual");
  auto x = b.input("x", DType::F32, {"N", 4, 6, 6});
  auto c =
      b.op("Conv", {x, b.constant("w", rnd({4, 4, 3, 3}, 12))}, {{"pads", Attribute::of_ints({1, 1, 1, 1})}});
  std::string other = x;
  if (!same_shape)
    other = b.op("ReduceMean", {x}, {{"axes", Attribute::of_ints({2, 3})}, {"keepdims", I(1)}});
  b.output(b.op("Add", {c, other}), "y");
  return b.finish();
}

TEST(Selectors, BinaryAddOnBothForms) {
  Model fp32 = residual_add(true);
  const int add = node_of(fp32.graph, "y");
  auto s = qdq::select_fp32(fp32.graph, add, [](const std::string&) { return true; });
  EXPECT_EQ(s.pattern, Pattern::BinaryAdd);
  EXPECT_EQ(s.quantize.size(), 3u);
  EXPECT_TRUE(s.counts_as_quantized);
  Model q = qdq_of(fp32);
  std::string why;
  auto qa = qdq::select_qdq_binary_add(q.graph, named(q.graph, fp32.graph.nodes[add].name), &why);
  ASSERT_TRUE(qa) << why;
  // Broadcasting: the plan quantizes it (ORT runs it), the integer add of our runtime does not take it.
  Model fp32b = residual_add(false);
  Model qb = qdq_of(fp32b);
  EXPECT_FALSE(qdq::select_qdq_binary_add(
      qb.graph, named(qb.graph, fp32b.graph.nodes[node_of(fp32b.graph, "y")].name), &why));
  EXPECT_EQ(why, "inputs differ in shape (no broadcasting)");
  // One input constant: a bias-like add, not a residual.
  GraphBuilder b("const_add");
  auto x = b.input("x", DType::F32, {"N", 3});
  b.output(b.op("Add", {x, b.constant("c", rnd({3}, 13))}), "y");
  Model m = b.finish();
  auto sc = qdq::select_fp32(m.graph, 0, [](const std::string&) { return true; });
  EXPECT_EQ(sc.pattern, Pattern::None);
  EXPECT_FALSE(sc.silent);
  // Different 8-bit types on the inputs: no integer add.
  Model qt = q;
  auto qa2 = qdq::select_qdq_binary_add(qt.graph, named(qt.graph, fp32.graph.nodes[add].name), &why);
  qt.graph.initializers[qa2->a.zero_point] = Tensor::zeros(DType::I8, {});
  EXPECT_FALSE(qdq::select_qdq_binary_add(qt.graph, named(qt.graph, fp32.graph.nodes[add].name), &why));
}

TEST(Selectors, PoolsAndTiesFollowQuantizedInputs) {
  GraphBuilder b("ties");
  auto x = b.input("x", DType::F32, {"N", 2, 8, 8});
  auto mp = b.op("MaxPool", {x}, {{"kernel_shape", Attribute::of_ints({2, 2})}});
  auto gap = b.op("GlobalAveragePool", {mp});
  auto fl = b.op("Flatten", {gap});
  auto sig = b.op("Sigmoid", {fl});
  auto cat = b.op("Concat", {fl, sig}, {{"axis", I(1)}});
  auto shp = b.op("Shape", {cat});
  b.output(cat);
  b.output(shp);
  Model m = b.finish();
  const Graph& g = m.graph;
  std::set<std::string> quantized = {x};
  auto q = [&](const std::string& v) { return quantized.count(v) != 0; };
  auto mps = qdq::select_fp32(g, node_of(g, mp), q);
  EXPECT_EQ(mps.pattern, Pattern::Pool);
  ASSERT_EQ(mps.ties.size(), 1u) << "a max of quantized values shares their scale";
  EXPECT_EQ(mps.ties[0], std::make_pair(x, mp));
  quantized.insert(mp);
  auto gaps = qdq::select_fp32(g, node_of(g, gap), q);
  EXPECT_EQ(gaps.pattern, Pattern::Pool);
  EXPECT_TRUE(gaps.ties.empty()) << "an average has a range of its own";
  quantized.insert(gap);
  auto fls = qdq::select_fp32(g, node_of(g, fl), q);
  EXPECT_EQ(fls.pattern, Pattern::PassThrough);
  EXPECT_FALSE(fls.counts_as_quantized);
  EXPECT_EQ(fls.ties[0], std::make_pair(gap, fl));
  quantized.insert(fl);
  auto sigs = qdq::select_fp32(g, node_of(g, sig), q);
  EXPECT_EQ(sigs.pattern, Pattern::None);
  EXPECT_EQ(sigs.why, "Sigmoid has no int8 form here");
  auto cats = qdq::select_fp32(g, node_of(g, cat), q);
  EXPECT_EQ(cats.pattern, Pattern::None) << "one input is float";
  EXPECT_TRUE(cats.silent);
  quantized.insert(sig);
  cats = qdq::select_fp32(g, node_of(g, cat), q);
  EXPECT_EQ(cats.pattern, Pattern::Concat);
  EXPECT_EQ(cats.ties.size(), 2u);
  auto shps = qdq::select_fp32(g, node_of(g, shp), q);
  EXPECT_EQ(shps.pattern, Pattern::None);
  EXPECT_TRUE(shps.silent);
  // A pool after a float tensor stays float and is reported.
  quantized.clear();
  auto mpf = qdq::select_fp32(g, node_of(g, mp), q);
  EXPECT_EQ(mpf.pattern, Pattern::None);
  EXPECT_FALSE(mpf.silent);
}

// ------------------------------------------------------------------ float heads

TEST(Selectors, FloatHeadsRunFromAUnitOrResidualAddToAnOutput) {
  // Conv → Relu → output: the unit's output and its pre-activation value.
  Model cr = conv_relu();
  const std::string pre = cr.graph.nodes[node_of(cr.graph, "y")].inputs[0];
  EXPECT_EQ(qdq::float_heads(cr.graph), (std::set<std::string>{pre, "y"}));
  // Gemm → Squeeze → output, and MatMul → Flatten → Reshape → output.
  GraphBuilder b("shapes");
  auto x = b.input("x", DType::F32, {"N", 6});
  auto g = b.op("Gemm", {x, b.constant("w", rnd({6, 1}, 20)), b.constant("c", rnd({1}, 21))});
  b.output(b.op("Squeeze", {g, b.constant("axes", Tensor::from_i64({1}, {1}))}), "score");
  auto m = b.op("MatMul", {x, b.constant("w2", rnd({6, 4}, 22))});
  auto f = b.op("Flatten", {m});
  b.output(b.op("Reshape", {f, b.constant("shape", Tensor::from_i64({2}, {-1, 4}))}), "feat");
  Model sm = b.finish();
  EXPECT_EQ(qdq::float_heads(sm.graph), (std::set<std::string>{g, "score", m, f, "feat"}));
  // The filter's tail: Conv → Add(x) → Clip → output: the Add and Clip outputs, not the conv's.
  GraphBuilder b2("filter_tail");
  auto img = b2.input("img", DType::F32, {"N", 1, 8, 8});
  auto c = b2.op("Conv", {img, b2.constant("w", rnd({1, 1, 3, 3}, 23))},
                 {{"pads", Attribute::of_ints({1, 1, 1, 1})}});
  auto add = b2.op("Add", {img, c});
  b2.output(b2.op("Clip", {add, b2.constant("lo", Tensor::scalar_f32(0.f)),
                           b2.constant("hi", Tensor::scalar_f32(1.f))}),
            "out");
  Model ft = b2.finish();
  EXPECT_EQ(qdq::float_heads(ft.graph), (std::set<std::string>{add, "out"}));
  // Not heads: a pool's output, a chain whose value is read elsewhere too, a non-unit producer.
  GraphBuilder b3("not_heads");
  auto x3 = b3.input("x", DType::F32, {"N", 2, 4, 4});
  auto conv = b3.op("Conv", {x3, b3.constant("w", rnd({2, 2, 1, 1}, 24))});
  auto flat = b3.op("Flatten", {conv});
  b3.output(b3.op("GlobalAveragePool", {conv}), "pooled");
  b3.output(b3.op("Sigmoid", {conv}), "sig");
  b3.output(flat, "flat");
  Model nh = b3.finish();
  EXPECT_FALSE(qdq::float_heads(nh.graph).count("flat")) << "the conv's output is read by three nodes";
  EXPECT_FALSE(qdq::float_heads(nh.graph).count(conv));
  EXPECT_FALSE(qdq::float_heads(nh.graph).count("pooled"));
  EXPECT_FALSE(qdq::float_heads(nh.graph).count("sig"));
}

TEST(Selectors, FloatHeadUnitOnBothForms) {
  Model fp32 = conv_relu();
  quant::QuantPlan plan;
  Model q = qdq_of(fp32, /*quantize_outputs=*/false, &plan);
  EXPECT_EQ(plan.tensors, std::vector<std::string>{"x"}) << "only the unit's input is quantized";
  EXPECT_TRUE(plan.same_as.empty());
  ASSERT_EQ(plan.units.size(), 1u);
  for (const auto& n : q.graph.nodes)
    EXPECT_FALSE(n.op_type == "QuantizeLinear" && n.inputs[0] != "x")
        << "a QuantizeLinear on " << n.inputs[0];
  std::string why;
  const int relu = node_of(q.graph, "y");
  const int conv = node_of(q.graph, q.graph.nodes[relu].inputs[0]);
  auto u = qdq::select_qdq_weighted_unit(q.graph, conv, &why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->q, -1) << "float output";
  EXPECT_EQ(u->activation, relu);
  // The runtime: one QLinearConv without y_scale, writing y itself, the Relu a float clamp.
  Graph fused = q.graph;
  fuse_qdq_for_runtime(fused);
  const int f = node_of(fused, "y");
  ASSERT_GE(f, 0);
  EXPECT_EQ(fused.nodes[f].op_type, "QLinearConv");
  EXPECT_TRUE(fused.nodes[f].inputs[6].empty() && fused.nodes[f].inputs[7].empty());
  EXPECT_EQ(fused.nodes[f].get_float(kActMin, -1.f), 0.f);
  for (const auto& n : fused.nodes) EXPECT_NE(n.op_type, "Relu");
  // The integer kernel's float output agrees with ONNX Runtime's float Conv on the dequantized operands.
  fs::path dir = temp_dir("float_head_conv");
  export_onnx(q, (dir / "q.onnx").string());
  Rng r(30);
  NamedTensors in = {{"x", random_tensor({2, 2, 8, 8}, r, -1.f, 3.f)}};
  auto ref = ort_run(dir / "q.onnx", in, {"y"}, dir);
  auto ours = Executor(q).run(in);
  Agreement a = compare_float_head(ours[0], ref[0], 0);
  EXPECT_TRUE(a.ok) << a.where;
  // A unit whose output is quantized but also read by another node is left alone.
  Model q2 = qdq_of(fp32);
  const int c2 = named(q2.graph, q.graph.nodes[conv].name);
  q2.graph.nodes.push_back(Node{"extra", "Sigmoid", "", {q2.graph.nodes[c2].outputs[0]}, {"extra_out"}, {}});
  EXPECT_FALSE(qdq::select_qdq_weighted_unit(q2.graph, c2, &why));
  EXPECT_EQ(why, "output is quantized and read by other nodes too");
}

// ------------------------------------------------------------------ the two actions agree

struct Named {
  std::string name;
  Model model;
  NamedTensors calibration;
};
std::vector<Named> models_to_quantize() {
  std::vector<Named> r;
  for (auto& f : fixtures())
    if (!f.quantized) r.push_back({f.name, f.model, f.inputs(4)});
  r.push_back(
      {"zoo_learned_filter", zoo::learned_filter(1, 8, 2, 5), {{"degraded", luma_images(4, 32, 32, 1)}}});
  Model nr = zoo::build("nr_metric", {}, 7);
  const auto& in = nr.graph.inputs[0];
  const int64_t h = in.shape[2].is_known() ? in.shape[2].value : 64,
                w = in.shape[3].is_known() ? in.shape[3].value : 64;
  r.push_back({"zoo_nr_metric", nr, {{in.name, luma_images(2, h, w, 2).reshaped({2, 1, h, w})}}});
  Model mlp = zoo::build("mlp", {}, 11);
  Rng rng(3);
  r.push_back(
      {"zoo_mlp",
       mlp,
       {{mlp.graph.inputs[0].name, random_tensor({8, mlp.graph.inputs[0].shape[1].value}, rng, -1.f, 2.f)}}});
  return r;
}

TEST(Selectors, EveryPlannedUnitBecomesAnIntegerOpInTheRuntime) {
  int units_checked = 0, float_units = 0;
  for (bool quantize_outputs : {false, true})
    for (auto preset : {quant::ActScheme::Asymmetric, quant::ActScheme::Symmetric})
      for (auto& [name, fp32, calib] : models_to_quantize()) {
        // clang 14 cannot capture a structured binding in a lambda (C++20 allows it): name the graph.
        const Graph& g = fp32.graph;
        quant::QConfig cfg;
        cfg.activations = preset;
        cfg.quantize_outputs = quantize_outputs;
        quant::PtqReport rep;
        const quant::QuantPlan plan = quant::plan_static(fp32.graph, cfg, &rep);
        if (plan.units.empty()) continue;
        Model q = quant::ptq_static(fp32, calib, cfg, &rep);
        Graph fused = q.graph;
        fuse_qdq_for_runtime(fused);
        const std::string what =
            name + " (" + quant::name(preset) + (quantize_outputs ? ", --quantize-outputs" : "") + ")";
        for (const auto& u : plan.units) {
          const Node& op = fp32.graph.nodes[u.node];
          const int i = named(fused, op.name);
          ASSERT_GE(i, 0) << what << ": " << op.name << " is gone";
          const Node& f = fused.nodes[i];
          const std::string want = op.op_type == "Conv"            ? "QLinearConv"
                                   : op.op_type == "ConvTranspose" ? "QLinearConvTranspose"
                                                                   : "QLinearMatMul";
          EXPECT_EQ(f.op_type, want) << what << ": unit " << op.name << " runs as " << f.op_type;
          const bool float_head = plan.float_heads.count(u.output) != 0;
          EXPECT_EQ(f.inputs[6].empty(), float_head)
              << what << ": " << op.name << " writes float iff a float head";
          float_units += float_head;
          if (u.activation >= 0) {
            EXPECT_TRUE(f.has(kActMin) && f.has(kActMax))
                << what << ": the activation of " << op.name << " is not a clamp of the integer op";
            EXPECT_LT(named(fused, fp32.graph.nodes[u.activation].name), 0)
                << what << ": " << fp32.graph.nodes[u.activation].name << " still runs in float";
          }
          ++units_checked;
        }
        // Residual adds of one shape become integer adds too (broadcasting ones stay DQ → Add → Q).
        for (const auto& n : fp32.graph.nodes) {
          if (n.op_type != "Add" ||
              std::find(rep.quantized.begin(), rep.quantized.end(), n.name) == rep.quantized.end())
            continue;
          auto shape_of = [&g](const std::string& v) -> const ValueInfo* {
            for (const auto& in : g.inputs)
              if (in.name == v) return &in;
            auto it = g.value_info.find(v);
            return it == g.value_info.end() ? nullptr : &it->second;
          };
          const ValueInfo *va = shape_of(n.inputs[0]), *vb = shape_of(n.inputs[1]);
          const bool same = va && vb && va->has_shape && va->shape == vb->shape;
          const int i = named(fused, n.name);
          ASSERT_GE(i, 0);
          EXPECT_EQ(fused.nodes[i].op_type == "QLinearAdd", same && !plan.float_heads.count(n.outputs[0]))
              << what << ": " << n.name;
        }
        // Nothing of a unit is left in float.
        for (const auto& n : fused.nodes)
          EXPECT_TRUE((n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") ||
                      std::none_of(plan.units.begin(), plan.units.end(),
                                   [&](const auto& u) { return g.nodes[u.node].name == n.name; }))
              << what << ": " << n.name;
      }
  EXPECT_GT(units_checked, 20);
  EXPECT_GT(float_units, 4);
}

}  // namespace
}  // namespace tinyqat::test
