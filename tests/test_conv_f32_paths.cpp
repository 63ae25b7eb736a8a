// fp32 convolutions on each path the runtime routes them to, against ONNX Runtime: multi-channel convs
// from channels-last rows on AVX2 (3 or 16 input channels, a fused residual, a 5×3 window with a row
// stride of 2, widths that are not multiples of the tiles), and ConvTranspose 2×2 / stride 2 in several
// bands of input rows and 3×3 / stride 2 with padding — at 1 and 2 threads, batch 1 and 2.
#include <gtest/gtest.h>

#include <array>

#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

Model conv_paths(int64_t H, int64_t W) {
  GraphBuilder b("conv_paths");
  Rng r(5);
  auto conv = [&](const std::string& name, const std::string& x, int64_t m, int64_t c, int64_t kh, int64_t kw,
                  std::vector<int64_t> pads, std::vector<int64_t> strides) {
    return b.op("Conv",
                {x, b.constant(name + ".w", random_tensor({m, c, kh, kw}, r, -0.3f, 0.3f)),
                 b.constant(name + ".b", random_tensor({m}, r, -0.1f, 0.1f))},
                {{"pads", Attribute::of_ints(pads)}, {"strides", Attribute::of_ints(strides)}});
  };
  auto x = b.input("image", DType::F32, {"N", 3, H, W});
  auto h1 = b.op("Relu", {conv("c1", x, 16, 3, 3, 3, {1, 1, 1, 1}, {1, 1})});
  auto h2 = b.op("Relu", {b.op("Add", {conv("c2", h1, 16, 16, 3, 3, {1, 1, 1, 1}, {1, 1}), h1})});
  auto h3 = b.op("Relu", {conv("c3", h2, 24, 16, 5, 3, {2, 1, 2, 1}, {2, 1})});
  auto t1 = b.op("ConvTranspose",
                 {h3, b.constant("t1.w", random_tensor({24, 16, 2, 2}, r, -0.3f, 0.3f)),
                  b.constant("t1.b", random_tensor({16}, r, -0.1f, 0.1f))},
                 {{"strides", Attribute::of_ints({2, 2})}});
  auto t2 = b.op("ConvTranspose", {t1, b.constant("t2.w", random_tensor({16, 9, 3, 3}, r, -0.3f, 0.3f))},
                 {{"strides", Attribute::of_ints({2, 2})},
                  {"pads", Attribute::of_ints({1, 1, 1, 1})},
                  {"output_padding", Attribute::of_ints({1, 1})}});
  b.output(h2, "mid");
  b.output(t2, "up");
  return b.finish();
}

TEST(ConvF32Paths, AgreeWithOrtAtOneAndTwoThreads) {
  // 40×70: the stride-2 conv gives 20 rows of 70 columns; the 2×2 ConvTranspose's columns (16·4 rows ×
  // 70 pixels per input row) go in bands of 14 rows, so 20 rows take two bands.
  const int64_t H = 40, W = 70;
  fs::path dir = temp_dir("conv_f32_paths");
  fs::path file = dir / "model.onnx";
  export_onnx(conv_paths(H, W), file.string());
  {  // an empty batch: nothing to compute, at any thread count
    ExecutorOptions o;
    o.threads = 2;
    Executor ex(import_onnx(file.string()), o);
    auto ours = ex.run({{"image", Tensor::zeros(DType::F32, {0, 3, H, W})}});
    ASSERT_EQ(ours.size(), 2u);
    EXPECT_EQ(ours[0].numel(), 0);
    EXPECT_EQ(ours[1].numel(), 0);
  }
  for (int64_t batch : {1, 2}) {
    Tensor l = luma_images(batch * 3, H, W, 11 + batch);
    NamedTensors in{{"image", l.reshaped({batch, 3, H, W})}};
    auto ref = ort_run(file, in, {"mid", "up"}, dir);
    for (int threads : {1, 2}) {
      ExecutorOptions o;
      o.threads = threads;
      Executor ex(import_onnx(file.string()), o);
      auto ours = ex.run(in);
      ASSERT_EQ(ours.size(), 2u);
      for (size_t i = 0; i < 2; ++i) {
        ASSERT_EQ(ours[i].shape(), ref[i].shape());
        Agreement a = compare_fp32(ours[i], ref[i]);
        EXPECT_TRUE(a.ok) << "output " << i << " batch " << batch << " threads " << threads << ": "
                          << a.where;
      }
    }
  }
}

}  // namespace
}  // namespace tinyqat::test

namespace tinyqat::test {
namespace {

// An input without rows still has an output where the kernel reaches past it: the bias everywhere.
TEST(ConvF32Paths, ConvTransposeOverNoRowsIsTheBias) {
  GraphBuilder b("no_rows");
  Rng r(2);
  auto x = b.input("x", DType::F32, {int64_t{1}, int64_t{2}, int64_t{0}, int64_t{4}});
  b.output(b.op("ConvTranspose", {x, b.constant("w", random_tensor({2, 3, 3, 3}, r, -1.f, 1.f)),
                                  b.constant("b", Tensor::from_f32({3}, {0.5f, -1.f, 2.f}))}),
           "y");
  for (int threads : {1, 2}) {
    ExecutorOptions o;
    o.threads = threads;
    Executor ex(b.finish(), o);
    auto y = ex.run({{"x", Tensor::zeros(DType::F32, {1, 2, 0, 4})}});
    ASSERT_EQ(y[0].shape(), (Shape{1, 3, 2, 6}));
    for (int64_t i = 0; i < y[0].numel(); ++i)
      ASSERT_EQ(y[0].data<float>()[i], (std::array{0.5f, -1.f, 2.f})[i / 12]);
  }
}

}  // namespace
}  // namespace tinyqat::test
