// fp32 convolutions on each path the runtime routes them to, against ONNX Runtime: multi-channel convs
// from channels-last rows on AVX2 (3 or 16 input channels, a fused residual, a 5×3 window with a row
// stride of 2, widths that are not multiples of the tiles), and ConvTranspose 2×2 / stride 2 in several
// bands of input rows and 3×3 / stride 2 with padding — at 1 and 2 threads, batch 1 and 2.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "runtime/fuse.h"
#include "runtime/kernels/conv_cl_rows_f32.h"
#include "runtime/kernels/conv_dw_cl_f32.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

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

namespace tinyqat::test {
namespace {

// Every Conv output also a graph output: no tensor may stay channels-last, so this runs on planes only.
Model all_conv_outputs_visible(Model m) {
  std::vector<std::string> extra;
  for (const Node& n : m.graph.nodes)
    if (n.op_type == "Conv") extra.push_back(n.outputs[0]);
  for (const auto& v : extra)
    if (!m.graph.is_graph_output(v)) m.graph.outputs.push_back(ValueInfo{v, DType::F32, false, {}});
  return m;
}

int count_attr(const Graph& g, const char* attr) {
  int k = 0;
  for (const Node& n : g.nodes) k += n.get_int(attr, 0) != 0;
  return k;
}

// Tensors between channels-last-rows convs stay channels-last (fuse.cpp mark_channels_last) on CPUs
// with that kernel: the zoo's learned_filter (a stem, residual blocks of 16→16 convs, a head) gives the
// same bits as when every conv output is visible (and so in planes), at 1 and 2 threads, and a tensor
// with another reader (a graph output here) is never channels-last. With one input channel the stem
// joins the chain too, on the channels-last-rows kernel, which sums its taps in another order than the
// one-channel direct path it takes between planes: the results agree to rounding.
TEST(ConvF32Paths, ChannelsLastChainsGiveTheSameBits) {
  for (int64_t channels : {2, 1}) {
    const Model m = zoo::learned_filter(channels, 16, 3, 4);
    const Model planes_only = all_conv_outputs_visible(m);
    Rng r(9);
    NamedTensors in{{m.graph.inputs[0].name, random_tensor({2, channels, 37, 53}, r, 0.f, 1.f)}};
    for (int threads : {1, 2}) {
      ExecutorOptions o;
      o.threads = threads;
      Executor chained(m, o), planes(planes_only, o);
      EXPECT_EQ(count_attr(planes.model().graph, kClOut), 0);
      EXPECT_EQ(count_attr(planes.model().graph, kClIn), 0);
      if (conv_cl_f32()) {
        EXPECT_GE(count_attr(chained.model().graph, kClOut), 4) << "the residual blocks' convs hand on rows";
        EXPECT_GE(count_attr(chained.model().graph, kClIn), 4);
        EXPECT_GE(count_attr(chained.model().graph, kClRes), 1);
      } else {
        std::printf("[conv paths] no channels-last-rows kernel on this CPU: chains not formed\n");
        EXPECT_EQ(count_attr(chained.model().graph, kClOut), 0);
      }
      auto a = chained.run(in);
      auto b = planes.run(in);
      ASSERT_EQ(a[0].shape(), b[0].shape());
      if (channels == 1) {
        Agreement ag = compare_fp32(a[0], b[0]);
        EXPECT_TRUE(ag.ok) << "threads " << threads << ": " << ag.where;
        continue;
      }
      for (int64_t i = 0; i < a[0].numel(); ++i)
        ASSERT_EQ(a[0].data<float>()[i], b[0].data<float>()[i]) << "threads " << threads << " at " << i;
    }
  }
}

int count_depthwise_chained(const Graph& g) {
  int k = 0;
  for (const Node& n : g.nodes)
    k += n.get_int("group", 1) > 1 && n.get_int(kClIn, 0) != 0 && n.get_int(kClOut, 0) != 0;
  return k;
}

// MobileNet-style chains (the zoo's nr_metric: a stride-2 stem, depthwise 3×3 convs of stride 1 and 2,
// pointwise convs) run channels-last from the stem to the last pointwise conv, also with channel counts
// that are not whole 8-lane blocks (width 12: 12 and 24 … 48 channels); against ONNX Runtime at 1 and 2
// threads, batch 2, on sizes that are not multiples of the strides.
TEST(ConvF32Paths, DepthwiseChainsAgreeWithOrt) {
  fs::path dir = temp_dir("conv_f32_dw_chains");
  for (auto [in_ch, width] : {std::pair<int64_t, int64_t>{3, 8}, {1, 8}, {1, 12}}) {
    const Model m = zoo::nr_metric(in_ch, width, 7);
    fs::path file = dir / ("nr_" + std::to_string(in_ch) + "_" + std::to_string(width) + ".onnx");
    export_onnx(m, file.string());
    Rng r(3);
    NamedTensors in{{m.graph.inputs[0].name, random_tensor({2, in_ch, 45, 61}, r, 0.f, 1.f)}};
    auto ref = ort_run(file, in, {m.graph.outputs[0].name}, dir);
    for (int threads : {1, 2}) {
      ExecutorOptions o;
      o.threads = threads;
      Executor ex(import_onnx(file.string()), o);
      const int dw = count_depthwise_chained(ex.model().graph);
      // Chained where this CPU has the channels-last depthwise kernel (AVX2, AVX-512).
      if (conv_dw_cl_f32())
        EXPECT_EQ(dw, 5) << "nr_metric(" << in_ch << ", " << width << ")";
      else
        EXPECT_EQ(dw, 0);
      auto ours = ex.run(in);
      ASSERT_EQ(ours[0].shape(), ref[0].shape());
      Agreement a = compare_fp32(ours[0], ref[0]);
      EXPECT_TRUE(a.ok) << "nr_metric(" << in_ch << ", " << width << ") threads " << threads << ": "
                        << a.where;
    }
  }
}

// A MobileNetV2-style inverted residual (pointwise expand → depthwise → pointwise project + skip) after a
// stride-2 stem, then a stride-2 5×5 depthwise conv the kernel does not take, and an output read by a
// non-conv op: the skip is a fused residual of a chained conv, the 5×5 depthwise conv and everything
// after it stay on planes. Against ONNX Runtime at 1 and 2 threads, batch 2.
TEST(ConvF32Paths, InvertedResidualChainsAgreeWithOrt) {
  GraphBuilder b("inverted_residual");
  Rng r(21);
  auto conv = [&](const std::string& name, const std::string& x, int64_t m, int64_t c, int64_t k,
                  int64_t stride, int64_t group) {
    const int64_t p = k / 2;
    return b.op("Conv",
                {x, b.constant(name + ".w", random_tensor({m, c / group, k, k}, r, -0.4f, 0.4f)),
                 b.constant(name + ".b", random_tensor({m}, r, -0.1f, 0.1f))},
                {{"pads", Attribute::of_ints({p, p, p, p})},
                 {"strides", Attribute::of_ints({stride, stride})},
                 {"group", Attribute::of_int(group)}});
  };
  auto relu6 = [&](const std::string& x) {
    return b.op("Clip", {x, b.constant(b.model().graph.unique_name("lo"), Tensor::scalar_f32(0.f)),
                         b.constant(b.model().graph.unique_name("hi"), Tensor::scalar_f32(6.f))});
  };
  auto x = b.input("image", DType::F32, {"N", 3, 33, 47});
  auto stem = relu6(conv("stem", x, 16, 3, 3, 2, 1));
  auto expand = relu6(conv("expand", stem, 32, 16, 1, 1, 1));
  auto dw = relu6(conv("dw", expand, 32, 32, 3, 1, 32));
  auto block = b.op("Add", {conv("project", dw, 16, 32, 1, 1, 1), stem});
  auto narrow = relu6(conv("narrow", block, 12, 16, 1, 1, 1));
  auto dw2 = relu6(conv("dw2", narrow, 12, 12, 5, 2, 12));
  b.output(b.op("Sigmoid", {conv("head", dw2, 8, 12, 1, 1, 1)}), "y");
  fs::path dir = temp_dir("conv_f32_inverted_residual");
  fs::path file = dir / "model.onnx";
  export_onnx(b.finish(), file.string());
  Rng ri(4);
  NamedTensors in{{"image", random_tensor({2, 3, 33, 47}, ri, 0.f, 1.f)}};
  auto ref = ort_run(file, in, {"y"}, dir);
  for (int threads : {1, 2}) {
    ExecutorOptions o;
    o.threads = threads;
    Executor ex(import_onnx(file.string()), o);
    if (conv_dw_cl_f32()) {
      EXPECT_EQ(count_depthwise_chained(ex.model().graph), 1) << "dw chained, dw2 (5×5) not";
      EXPECT_EQ(count_attr(ex.model().graph, kClRes), 1) << "the skip stays channels-last";
    }
    auto ours = ex.run(in);
    ASSERT_EQ(ours[0].shape(), ref[0].shape());
    Agreement a = compare_fp32(ours[0], ref[0]);
    EXPECT_TRUE(a.ok) << "threads " << threads << ": " << a.where;
  }
}

// A chain whose rows are too wide for the kernel's scratch (conv_cl_applies' 64 MiB cap) still reads and
// writes channels-last tensors, through plane copies around the GEMM.
TEST(ConvF32Paths, ChannelsLastChainWiderThanTheKernelTakes) {
  GraphBuilder b("wide_rows");
  Rng r(8);
  const int64_t W = 360000;  // 3 · (W + 19) · 16 floats of scratch > 2^24
  auto x = b.input("x", DType::F32, {int64_t{1}, int64_t{16}, int64_t{1}, W});
  auto conv = [&](const std::string& name, const std::string& in) {
    return b.op("Conv",
                {in, b.constant(name + ".w", random_tensor({16, 16, 1, 3}, r, -0.3f, 0.3f)),
                 b.constant(name + ".b", random_tensor({16}, r, -0.1f, 0.1f))},
                {{"pads", Attribute::of_ints({0, 1, 0, 1})}});
  };
  b.output(conv("c3", b.op("Relu", {conv("c2", b.op("Relu", {conv("c1", x)}))})), "y");
  const Model m = b.finish();
  ConvGeometry g;
  g.C = 16, g.H = 1, g.W = W, g.KH = 1, g.KW = 3, g.PL = 1, g.OH = 1, g.OW = W;
  ASSERT_FALSE(conv_cl_applies(g, 16)) << "the case must exceed the kernel's scratch cap";
  Executor chained(m), planes(all_conv_outputs_visible(m));
  if (conv_cl_f32()) {
    EXPECT_EQ(count_attr(chained.model().graph, kClOut), 2);
  }
  NamedTensors in{{"x", random_tensor({1, 16, 1, W}, r, -1.f, 1.f)}};
  auto ya = chained.run(in);
  auto yb = planes.run(in);
  for (int64_t i = 0; i < ya[0].numel(); ++i) ASSERT_EQ(ya[0].data<float>()[i], yb[0].data<float>()[i]) << i;
}

}  // namespace
}  // namespace tinyqat::test
