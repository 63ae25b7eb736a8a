// int8 ConvTranspose: static PTQ quantizes it as a weighted unit (per output channel, weight axis 1), the
// runtime fuses DequantizeLinear → ConvTranspose → QuantizeLinear into its integer QLinearConvTranspose,
// and the result is ONNX Runtime's (which runs the QDQ graph) within one quantization step.
#include <gtest/gtest.h>

#include <cstdio>

#include "ir/builder.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"
#include "quant/ptq.h"
#include "runtime/executor.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

// Conv 3×3 + ReLU, then an upsampling ConvTranspose 2×2 / stride 2 + ReLU (every output pixel from one
// column entry), then a 3×3 / stride 2 one with padding and output padding (overlapping windows), no bias.
Model upsampler() {
  GraphBuilder b("upsampler");
  Rng r(3);
  auto x = b.input("image", DType::F32, {"N", 2, 10, 12});
  auto h = b.op("Relu", {b.op("Conv",
                              {x, b.constant("c.w", random_tensor({8, 2, 3, 3}, r, -0.5f, 0.5f)),
                               b.constant("c.b", random_tensor({8}, r, -0.1f, 0.1f))},
                              {{"pads", Attribute::of_ints({1, 1, 1, 1})}})});
  h = b.op("Relu", {b.op("ConvTranspose",
                         {h, b.constant("t1.w", random_tensor({8, 6, 2, 2}, r, -0.5f, 0.5f)),
                          b.constant("t1.b", random_tensor({6}, r, -0.1f, 0.1f))},
                         {{"strides", Attribute::of_ints({2, 2})}})});
  h = b.op("ConvTranspose", {h, b.constant("t2.w", random_tensor({6, 3, 3, 3}, r, -0.5f, 0.5f))},
           {{"strides", Attribute::of_ints({2, 2})},
            {"pads", Attribute::of_ints({1, 1, 1, 1})},
            {"output_padding", Attribute::of_ints({1, 1})}});
  b.output(h, "up");
  return b.finish();
}

NamedTensors images(int64_t n, uint64_t seed) {
  Tensor l = luma_images(n * 2, 10, 12, seed);
  return {{"image", l.reshaped({n, 2, 10, 12})}};
}

int count_op(const Graph& g, const std::string& op) {
  int k = 0;
  for (const Node& n : g.nodes) k += n.op_type == op;
  return k;
}

class QConvTranspose : public ::testing::TestWithParam<quant::ActScheme> {};

TEST_P(QConvTranspose, IntegerKernelAgreesWithOrtWithinOneStep) {
  quant::QConfig cfg;
  cfg.activations = GetParam();
  cfg.quantize_outputs = true;
  quant::PtqReport rep;
  Model q = quant::ptq_static(upsampler(), images(16, 1), cfg, &rep);
  int quantized_t = 0;
  for (const auto& name : rep.quantized) quantized_t += name.rfind("ConvTranspose", 0) == 0;
  EXPECT_EQ(quantized_t, 2) << "both ConvTranspose nodes are quantized units";
  fs::path dir = temp_dir(std::string("qconvt_") + quant::name(cfg.activations));
  fs::path file = dir / "model.int8.onnx";
  export_onnx(q, file.string());
  Executor ex(import_onnx(file.string()));
  EXPECT_EQ(count_op(ex.model().graph, "QLinearConvTranspose"), 2) << "the runtime runs both on integers";
  EXPECT_EQ(count_op(ex.model().graph, "ConvTranspose"), 0);
  for (int64_t batch : {1, 3}) {
    NamedTensors eval = images(batch, 7 + batch);
    auto ref = ort_run(file, eval, {"up"}, dir);
    auto ours = ex.run(eval);
    const double step = output_step(q, "up");
    ASSERT_GT(step, 0);
    Agreement a = compare_steps(ours[0], ref[0], step);
    EXPECT_TRUE(a.ok) << a.where;
    std::printf("[qconvt] %s batch %ld: ours vs ORT max|diff| %.3g (step %.3g)\n",
                quant::name(cfg.activations), static_cast<long>(batch), a.max_abs, step);
  }
}

INSTANTIATE_TEST_SUITE_P(Activations, QConvTranspose,
                         ::testing::Values(quant::ActScheme::Asymmetric, quant::ActScheme::Symmetric),
                         [](const auto& i) { return std::string(quant::name(i.param)); });

// The zoo's U-Net end to end: static PTQ keeps only the Sigmoid in float, the runtime fuses both
// upsampling ConvTransposes into integer ones, and the int8 mask stays close to the fp32 one on images the
// calibration never saw.
TEST(QConvTranspose, UnetQuantizesEndToEnd) {
  Model fp32 = zoo::unet(3, 4, 5);
  auto data = [](int64_t n, uint64_t seed) {
    Tensor l = luma_images(n * 3, 16, 20, seed);
    return NamedTensors{{"image", l.reshaped({n, 3, 16, 20})}};
  };
  quant::PtqReport rep;
  Model q = quant::ptq_static(fp32, data(16, 1), {}, &rep);
  ASSERT_EQ(rep.kept_fp32.size(), 1u);
  EXPECT_EQ(rep.kept_fp32[0].first, "Sigmoid_27");
  Executor ex(q);
  EXPECT_EQ(count_op(ex.model().graph, "QLinearConvTranspose"), 2);
  const quant::DropMeasurement d = quant::measure_drop(fp32, q, data(8, 99), 1);
  EXPECT_LT(d.drop, 0.02) << "int8 U-Net: PLCC drop vs fp32 on held-out images";
  std::printf("[qconvt] unet: PLCC drop vs fp32 %.3g\n", d.drop);
}

}  // namespace
}  // namespace tinyqat::test
