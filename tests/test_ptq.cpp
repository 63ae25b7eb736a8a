// Post-training quantization: artifacts load in ONNX Runtime, agree with our integer runtime within one
// quantization step, are fused by ORT into integer kernels, and bad calibration data is refused clearly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "ir/builder.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"
#include "quant/observers.h"
#include "quant/ptq.h"
#include "runtime/executor.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

using quant::ActScheme;
using quant::QConfig;

Model small_filter() {
  return zoo::learned_filter(1, 8, 2, 5);
}
NamedTensors filter_data(int64_t n, uint64_t seed) {
  return {{"degraded", luma_images(n, 32, 32, seed)}};
}

// An MLP like vmaf_tiny: standardisation, Gemm (transB) + Relu, MatMul, Gemm head.
Model small_mlp() {
  GraphBuilder b("mlp");
  Rng r(3);
  auto x = b.input("features", DType::F32, {"N", 6});
  auto h = b.op("Div", {b.op("Sub", {x, b.constant("mean", random_tensor({6}, r, 0.f, 1.f))}),
                        b.constant("std", random_tensor({6}, r, 0.5f, 1.5f))});
  h = b.op("Relu", {b.op("Gemm",
                         {h, b.constant("w1", random_tensor({16, 6}, r, -0.5f, 0.5f)),
                          b.constant("b1", random_tensor({16}, r, -0.1f, 0.1f))},
                         {{"transB", Attribute::of_int(1)}})});
  h = b.op("Relu", {b.op("MatMul", {h, b.constant("w2", random_tensor({16, 8}, r, -0.5f, 0.5f))})});
  h = b.op("Gemm", {h, b.constant("w3", random_tensor({8, 1}, r, -0.5f, 0.5f)),
                    b.constant("b3", random_tensor({1}, r, 0.f, 0.1f))});
  b.output(b.op("Squeeze", {h, b.constant("axes", Tensor::from_i64({1}, {1}))}), "score");
  return b.finish();
}
NamedTensors mlp_data(int64_t n, uint64_t seed) {
  Rng r(seed);
  return {{"features", random_tensor({n, 6}, r, -1.f, 2.f)}};
}

// A depthwise net with its BatchNormalization kept (the zoo's nr_metric, narrow), the statistics far from
// the identity as after training: the quantizers fold each BN into its Conv first.
Model bn_net() {
  Model m = zoo::nr_metric(1, 8, 5);
  Rng r(17);
  const float lo[5] = {0, 0.5f, -0.2f, -0.3f, 0.05f}, hi[5] = {0, 1.5f, 0.5f, 0.3f, 2.f};  // γ β mean var
  for (const auto& n : m.graph.nodes)
    if (n.op_type == "BatchNormalization")
      for (size_t i = 1; i < 5; ++i) {
        Tensor& t = m.graph.initializers.at(n.inputs[i]);
        t = random_tensor(t.shape(), r, lo[i], hi[i]);
      }
  return m;
}
NamedTensors bn_net_data(int64_t n, uint64_t seed) {
  return {{"frame", luma_images(n, 32, 32, seed)}};
}

int count(const std::vector<std::string>& ops, const std::string& op) {
  return static_cast<int>(std::count(ops.begin(), ops.end(), op));
}

// The quantized nodes that are Conv / Gemm / MatMul (the others: Add, pooling).
int quantized_weighted_ops(const Model& fp32, const quant::PtqReport& rep) {
  int units = 0;
  for (const auto& n : fp32.graph.nodes)
    units += std::count(rep.quantized.begin(), rep.quantized.end(), n.name) &&
             (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
  return units;
}

struct Case {
  const char* name;
  Model (*model)();
  NamedTensors (*data)(int64_t, uint64_t);
};
const Case kCases[] = {
    {"filter", small_filter, filter_data}, {"mlp", small_mlp, mlp_data}, {"bn_net", bn_net, bn_net_data}};

class StaticPtq : public ::testing::TestWithParam<std::tuple<int, ActScheme>> {};

TEST_P(StaticPtq, OrtRunsItOnIntegerKernelsAndAgreesWithinOneStep) {
  const Case& c = kCases[std::get<0>(GetParam())];
  QConfig cfg;
  cfg.activations = std::get<1>(GetParam());
  cfg.quantize_outputs = true;  // outputs out of a DequantizeLinear: agreement in steps (float heads below)
  Model fp32 = c.model();
  quant::PtqReport rep;
  Model q = quant::ptq_static(fp32, c.data(16, 1), cfg, &rep);
  check_onnx(q);
  fs::path dir = temp_dir(std::string("ptq_static_") + c.name + quant::name(cfg.activations));
  fs::path file = dir / "model.int8.onnx", opt = dir / "ort_optimized.onnx";
  export_onnx(q, file.string());
  NamedTensors eval = c.data(4, 2);
  auto ref = ort_run(file, eval, {q.graph.outputs[0].name}, dir, opt.string());
  Executor ex(import_onnx(file.string()));
  auto ours = ex.run(eval);
  const double step = output_step(q, q.graph.outputs[0].name);
  ASSERT_GT(step, 0) << "the output should come out of a DequantizeLinear";
  Agreement a = compare_steps(ours[0], ref[0], step);
  EXPECT_TRUE(a.ok) << a.where;
  std::printf("[ptq] %s %s: ours vs ORT max|diff| %.3g (step %.3g)\n", c.name, quant::name(cfg.activations),
              a.max_abs, step);

  // ORT's optimized graph: every quantized Conv/Gemm/MatMul became an integer kernel.
  auto ops = onnx_op_types(opt);
  const int integer_ops = count(ops, "com.microsoft.QLinearConv") + count(ops, ".QLinearConv") +
                          count(ops, "com.microsoft.QGemm") + count(ops, ".QLinearMatMul") +
                          count(ops, "com.microsoft.QLinearMatMul") + count(ops, ".MatMulInteger");
  const int float_ops = count(ops, ".Conv") + count(ops, ".Gemm") + count(ops, ".MatMul") +
                        count(ops, ".FusedConv") + count(ops, "com.microsoft.FusedConv") +
                        count(ops, "com.microsoft.FusedGemm");
  if (cfg.activations == ActScheme::Asymmetric) {
    EXPECT_EQ(integer_ops, quantized_weighted_ops(fp32, rep))
        << "every quantized Conv/Gemm/MatMul runs as an integer kernel in ORT";
    EXPECT_EQ(float_ops, 0) << "no weighted op left in float";
  } else {
    EXPECT_GT(integer_ops, 0);
  }
}

// Float heads (the default): no QuantizeLinear on the outputs; ORT still runs every unit on an integer
// kernel (a float-output Gemm as QGemm), and ours agrees with it.
TEST_P(StaticPtq, FloatHeadsStayFloatAndOrtStillFusesTheUnits) {
  const Case& c = kCases[std::get<0>(GetParam())];
  QConfig cfg;
  cfg.activations = std::get<1>(GetParam());
  Model fp32 = c.model();
  quant::PtqReport rep;
  Model q = quant::ptq_static(fp32, c.data(16, 1), cfg, &rep);
  ASSERT_EQ(rep.float_outputs, std::vector<std::string>{q.graph.outputs[0].name});
  EXPECT_EQ(output_step(q, q.graph.outputs[0].name), 0) << "the output is not re-quantized";
  fs::path dir = temp_dir(std::string("ptq_float_head_") + c.name + quant::name(cfg.activations));
  fs::path file = dir / "model.int8.onnx", opt = dir / "ort_optimized.onnx";
  export_onnx(q, file.string());
  NamedTensors eval = c.data(4, 2);
  auto ref = ort_run(file, eval, {q.graph.outputs[0].name}, dir, opt.string());
  auto ours = Executor(import_onnx(file.string())).run(eval);
  // fp32 agreement, give or take one step of the quantized tensors the head reads (the filter's residual
  // Add: two runtimes may round a quantized tensor one step apart).
  const double slack = float_head_slack(q, q.graph.outputs[0].name);
  Agreement a = compare_float_head(ours[0], ref[0], slack);
  std::printf("[ptq] float head %s %s: ours vs ORT max|diff| %.3g (slack %.3g)\n", c.name,
              quant::name(cfg.activations), a.max_abs, slack);
  EXPECT_TRUE(a.ok) << a.where;
  if (cfg.activations == ActScheme::Asymmetric) {
    auto ops = onnx_op_types(opt);
    const int integer_ops = count(ops, "com.microsoft.QLinearConv") + count(ops, "com.microsoft.QGemm") +
                            count(ops, ".QLinearMatMul") + count(ops, "com.microsoft.MatMulIntegerToFloat");
    const int float_ops = count(ops, ".Conv") + count(ops, ".Gemm") + count(ops, ".MatMul") +
                          count(ops, "com.microsoft.FusedConv") + count(ops, "com.microsoft.FusedGemm");
    EXPECT_EQ(integer_ops, quantized_weighted_ops(fp32, rep))
        << "every unit, the float head's included, runs on an integer kernel in ORT";
    EXPECT_EQ(float_ops, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, StaticPtq,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(ActScheme::Asymmetric, ActScheme::Symmetric)),
                         [](const auto& i) {
                           return std::string(kCases[std::get<0>(i.param)].name) + "_" +
                                  quant::name(std::get<1>(i.param));
                         });

TEST(StaticPtq, StaysCloseToFp32AndIsReproducible) {
  Model fp32 = small_filter();
  QConfig cfg;
  for (auto method : {quant::CalibMethod::MinMax, quant::CalibMethod::Percentile, quant::CalibMethod::Mse}) {
    cfg.method = method;
    Model a = quant::ptq_static(fp32, filter_data(16, 1), cfg, nullptr);
    Model b = quant::ptq_static(fp32, filter_data(16, 1), cfg, nullptr);
    EXPECT_EQ(export_onnx_bytes(a), export_onnx_bytes(b)) << "same inputs, same bytes";
    auto c = quant::compare_models(fp32, a, filter_data(8, 9), {});
    EXPECT_GT(c.outputs[0].plcc, 0.995) << quant::name(method);
  }
}

TEST(StaticPtq, FoldsBatchNormSoEachConvQuantizesWithItsActivation) {
  quant::PtqReport rep;
  Model q = quant::ptq_static(bn_net(), bn_net_data(16, 1), {}, &rep);
  EXPECT_EQ(rep.folded_batchnorms.size(), 11u);
  EXPECT_EQ(summarize(q).op_histogram.count("BatchNormalization"), 0u);
  for (const auto& [node, why] : rep.kept_fp32)
    EXPECT_EQ(node.rfind("Clip", 0), std::string::npos) << node << " kept fp32: " << why;
  // Held-out frames. Quantizing the pre-normalisation Conv outputs instead (no fold) measured lower:
  // 0.936 against 0.975 on 8 of these frames.
  auto c = quant::compare_models(bn_net(), q, bn_net_data(32, 9), {});
  std::printf("[ptq] bn_net static int8 vs fp32: PLCC %.4f\n", c.outputs[0].plcc);
  EXPECT_GT(c.outputs[0].plcc, 0.96);
  quant::PtqReport drep;
  quant::ptq_dynamic(bn_net(), {}, &drep);
  EXPECT_EQ(drep.folded_batchnorms.size(), 11u);
}

TEST(DynamicPtq, LoadsInOrtAndAgrees) {
  for (const Case& c : kCases) {
    Model q = quant::ptq_dynamic(c.model(), QConfig{}, nullptr);
    EXPECT_EQ(summarize(q).quantization, "dynamic");
    // Per-channel everywhere; a layer with a single output channel reads as per-tensor, hence "mixed".
    EXPECT_EQ(summarize(q).weight_granularity, "mixed") << c.name;
    fs::path dir = temp_dir(std::string("ptq_dynamic_") + c.name);
    fs::path file = dir / "model.int8.onnx";
    export_onnx(q, file.string());
    NamedTensors eval = c.data(4, 2);
    auto ref = ort_run(file, eval, {q.graph.outputs[0].name}, dir);
    auto ours = Executor(import_onnx(file.string())).run(eval);
    Agreement a = compare_fp32(ours[0], ref[0], 1e-4);
    EXPECT_TRUE(a.ok) << c.name << ": " << a.where;
    auto cmp = quant::compare_models(c.model(), q, c.data(32, 5), {});
    EXPECT_GT(cmp.outputs[0].plcc, 0.99) << c.name;
  }
}

std::string static_error(const Model& m, const NamedTensors& calib, const QConfig& cfg = {}) {
  try {
    quant::ptq_static(m, calib, cfg, nullptr);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(StaticPtq, BadCalibrationIsRefusedClearly) {
  Model m = small_mlp();
  EXPECT_NE(static_error(m, {{"wrong", mlp_data(4, 1)[0].second}}).find("no array named 'features'"),
            std::string::npos);
  EXPECT_NE(static_error(m, {{"features", Tensor::zeros(DType::F32, {4, 5})}}).find("has shape [4,5]"),
            std::string::npos);
  EXPECT_NE(static_error(m, {{"features", Tensor::zeros(DType::I64, {4, 6})}}).find("is int64"),
            std::string::npos);
  EXPECT_NE(static_error(m, {{"features", Tensor::zeros(DType::F32, {0, 6})}}).find("holds no samples"),
            std::string::npos);
  EXPECT_NE(static_error(m, {}).find("empty"), std::string::npos);
  // A scalar array (its sample axis was read from an empty shape).
  EXPECT_NE(static_error(m, {{"features", Tensor::scalar_f32(1.f)}}).find("is a scalar"), std::string::npos);
  NamedTensors nan = mlp_data(4, 1);
  nan[0].second.data<float>()[5] = NAN;
  EXPECT_NE(static_error(m, nan).find("NaN or Inf"), std::string::npos) << static_error(m, nan);
  Model q = quant::ptq_dynamic(m, QConfig{}, nullptr);
  EXPECT_NE(static_error(q, mlp_data(4, 1)).find("already quantized"), std::string::npos);
}

TEST(StaticPtq, ConstantZeroTensorsGetAPositiveScale) {
  Model m = small_filter();
  quant::PtqReport rep;
  Model q = quant::ptq_static(m, {{"degraded", Tensor::zeros(DType::F32, {2, 1, 16, 16})}}, QConfig{}, &rep);
  for (const auto& [t, p] : rep.activations) EXPECT_GT(p.scale, 0.f) << t;
  auto out = Executor(q).run({{"degraded", Tensor::zeros(DType::F32, {1, 1, 16, 16})}});
  for (int64_t i = 0; i < out[0].numel(); ++i) ASSERT_TRUE(std::isfinite(out[0].data<float>()[i]));
}

TEST(StaticPtq, ExcludedAndUnsupportedNodesStayFp32AndAreReported) {
  Model m = small_filter();
  const std::string first_conv = m.graph.nodes[0].name;
  QConfig cfg;
  cfg.exclude.insert(first_conv);
  quant::PtqReport rep;
  Model q = quant::ptq_static(m, filter_data(8, 1), cfg, &rep);
  bool reported = false;
  for (const auto& [n, why] : rep.kept_fp32)
    reported |= n == first_conv && why.find("excluded") != std::string::npos;
  EXPECT_TRUE(reported);
  for (const auto& n : q.graph.nodes)
    if (n.name == first_conv) {
      EXPECT_TRUE(q.graph.initializer(n.inputs[1])) << "its weight stays a float initializer";
    }
  // cnn_mix has ops without an int8 form here (BatchNormalization, ConvTranspose, Softmax, ...).
  Fixture cnn = fixtures()[1];
  quant::PtqReport rep2;
  quant::ptq_static(cnn.model, cnn.inputs(4), QConfig{}, &rep2);
  bool softmax = false;
  for (const auto& [n, why] : rep2.kept_fp32) softmax |= why.find("Softmax") != std::string::npos;
  EXPECT_TRUE(softmax);
}

TEST(Observers, RangesFollowTheMethod) {
  Rng r(1);
  Tensor t = Tensor::empty(DType::F32, {100000});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = r.normal();
  t.data<float>()[0] = 40.f;  // one outlier
  for (auto scheme : {ActScheme::Symmetric, ActScheme::Asymmetric}) {
    quant::RangeObserver o("t");
    o.observe_minmax(t);
    o.observe_histogram(t, scheme);
    QConfig cfg;
    cfg.activations = scheme;
    cfg.method = quant::CalibMethod::MinMax;
    EXPECT_FLOAT_EQ(o.range(cfg).second, 40.f);
    cfg.method = quant::CalibMethod::Percentile;
    cfg.percentile = 99.9;
    EXPECT_LT(o.range(cfg).second, 6.f) << "the outlier is cut";
    EXPECT_GT(o.range(cfg).second, 2.5f);
    cfg.method = quant::CalibMethod::Mse;
    EXPECT_LT(o.range(cfg).second, 40.f);
    EXPECT_GT(o.range(cfg).second, 2.f);
  }
  quant::RangeObserver bad("x");
  Tensor n = Tensor::from_f32({2}, {1.f, INFINITY});
  EXPECT_THROW(bad.observe_minmax(n), Error);
}

}  // namespace
}  // namespace tinyqat::test
