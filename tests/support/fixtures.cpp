// The project's own fixture models: together they use every operator the importer accepts at least
// once, with the attribute variants that matter (depthwise groups, strides, auto_pad, ceil_mode,
// transposes, broadcasting, per-axis quantization), so the ORT agreement suite stands on a fresh clone.
#include <cmath>

#include "ir/builder.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

Attribute I(int64_t v) {
  return Attribute::of_int(v);
}
Attribute F(float v) {
  return Attribute::of_float(v);
}
Attribute Is(std::vector<int64_t> v) {
  return Attribute::of_ints(std::move(v));
}
Attribute S(const char* v) {
  return Attribute::of_string(v);
}

Tensor weights(const Shape& s, uint64_t seed, float scale) {
  Rng rng(seed);
  Tensor t = Tensor::empty(DType::F32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * rng.normal();
  return t;
}
Tensor i64s(std::vector<int64_t> v) {
  return Tensor::from_i64({static_cast<int64_t>(v.size())}, v);
}
Tensor scalar(float v) {
  return Tensor::scalar_f32(v);
}
template <typename T>
Tensor scalar_q(DType t, T v) {
  Tensor r = Tensor::empty(t, {});
  *r.data<T>() = v;
  return r;
}
Tensor i32s(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty(DType::I32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return t;
}
// Symmetric per-output-channel int8 weights (axis 0) and their scales.
std::pair<Tensor, Tensor> quantize_weights(const Tensor& w) {
  const int64_t M = w.dim(0), K = w.numel() / M;
  Tensor q = Tensor::empty(DType::I8, w.shape());
  Tensor s = Tensor::empty(DType::F32, {M});
  for (int64_t m = 0; m < M; ++m) {
    float mx = 1e-8f;
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, std::fabs(w.data<float>()[m * K + k]));
    float sc = mx / 127.f;
    s.data<float>()[m] = sc;
    for (int64_t k = 0; k < K; ++k)
      q.data<int8_t>()[m * K + k] = static_cast<int8_t>(std::nearbyint(w.data<float>()[m * K + k] / sc));
  }
  return {q, s};
}

// MLP on VMAF-like features: normalisation, Gemm, GELU through Erf, MatMul, Sigmoid, Tanh, Squeeze.
Fixture mlp_gelu() {
  GraphBuilder b("mlp_gelu");
  auto x = b.input("features", DType::F32, {"N", 6});
  auto mean = b.constant("mean", Tensor::from_f32({6}, {0.9f, 0.5f, 0.75f, 0.84f, 0.89f, 6.4f}));
  auto std_ = b.constant("std", Tensor::from_f32({6}, {0.035f, 0.16f, 0.09f, 0.07f, 0.05f, 7.3f}));
  auto h = b.op("Div", {b.op("Sub", {x, mean}), std_});
  h = b.op("Gemm", {h, b.constant("w1", weights({16, 6}, 1, 0.4f)), b.constant("b1", weights({16}, 2, 0.1f))},
           {{"transB", I(1)}});
  // GELU(x) = 0.5·x·(1 + erf(x/√2))
  auto e = b.op("Erf", {b.op("Div", {h, b.constant("sqrt2", scalar(1.41421356f))})});
  h = b.op("Mul", {b.op("Mul", {h, b.op("Add", {e, b.constant("one", scalar(1.f))})}),
                   b.constant("half", scalar(0.5f))});
  h = b.op("Add", {b.op("MatMul", {h, b.constant("w2", weights({16, 8}, 3, 0.3f))}),
                   b.constant("b2", weights({8}, 4, 0.1f))});
  h = b.op("Tanh", {h});
  h = b.op("Gemm", {h, b.constant("w3", weights({8, 1}, 5, 0.5f)), b.constant("b3", scalar(0.2f))},
           {{"alpha", F(0.9f)}, {"beta", F(1.5f)}});
  h = b.op("Sigmoid", {h});
  b.output(b.op("Squeeze", {h, b.constant("axes1", i64s({1}))}), "score");
  Fixture f{"mlp_gelu", b.finish(), {}};
  f.inputs = [](int64_t n) {
    Rng r(11);
    Tensor t = Tensor::empty(DType::F32, {n, 6});
    for (int64_t i = 0; i < n; ++i) {
      float q = r.uniform();
      float v[6] = {0.85f + 0.15f * q, 0.2f + 0.7f * q,  0.5f + 0.45f * q,
                    0.6f + 0.38f * q,  0.7f + 0.28f * q, r.uniform(0.f, 25.f)};
      for (int k = 0; k < 6; ++k) t.data<float>()[i * 6 + k] = v[k] + 0.01f * r.normal();
    }
    return NamedTensors{{"features", t}};
  };
  return f;
}

// A CNN touching every spatial op: Conv (+BN, Relu), depthwise Conv (stride 2), Clip, MaxPool (ceil_mode),
// ConvTranspose, LeakyRelu, AveragePool, dilated Conv, grouped SAME_LOWER Conv, Concat, GlobalAveragePool,
// Flatten, Gemm, Softmax.
Fixture cnn_mix() {
  GraphBuilder b("cnn_mix");
  auto x = b.input("image", DType::F32, {"N", 3, 32, 32});
  auto h =
      b.op("Conv",
           {x, b.constant("c1w", weights({8, 3, 3, 3}, 10, 0.3f)), b.constant("c1b", weights({8}, 11, 0.1f))},
           {{"pads", Is({1, 1, 1, 1})}, {"kernel_shape", Is({3, 3})}});
  Tensor var = weights({8}, 15, 0.2f);
  for (int64_t i = 0; i < 8; ++i) var.data<float>()[i] = 0.5f + std::fabs(var.data<float>()[i]);
  h = b.op("BatchNormalization",
           {h, b.constant("bn_s", weights({8}, 12, 0.5f)), b.constant("bn_b", weights({8}, 13, 0.1f)),
            b.constant("bn_m", weights({8}, 14, 0.1f)), b.constant("bn_v", var)},
           {{"epsilon", F(1e-3f)}});
  h = b.op("Relu", {h});
  h = b.op("Conv",
           {h, b.constant("dww", weights({8, 1, 3, 3}, 16, 0.4f)), b.constant("dwb", weights({8}, 17, 0.1f))},
           {{"group", I(8)}, {"strides", Is({2, 2})}, {"pads", Is({1, 1, 1, 1})}});
  h = b.op("Clip", {h, b.constant("zero", scalar(0.f)), b.constant("six", scalar(6.f))});
  auto p = b.op("MaxPool", {h}, {{"kernel_shape", Is({3, 3})}, {"strides", Is({2, 2})}, {"ceil_mode", I(1)}});
  auto up =
      b.op("ConvTranspose",
           {p, b.constant("ctw", weights({8, 4, 3, 3}, 18, 0.3f)), b.constant("ctb", weights({4}, 19, 0.1f))},
           {{"strides", Is({2, 2})}, {"pads", Is({1, 1, 1, 1})}, {"output_padding", Is({1, 1})}});
  up = b.op("LeakyRelu", {up}, {{"alpha", F(0.1f)}});
  up = b.op("AveragePool", {up}, {{"kernel_shape", Is({3, 3})}, {"pads", Is({1, 1, 1, 1})}});
  auto side = b.op("Conv", {h, b.constant("sw", weights({6, 8, 3, 3}, 20, 0.3f))},
                   {{"dilations", Is({2, 2})}, {"pads", Is({2, 2, 2, 2})}});
  auto grouped = b.op("Conv", {h, b.constant("gw", weights({4, 4, 2, 2}, 21, 0.2f))},
                      {{"group", I(2)}, {"auto_pad", S("SAME_LOWER")}});
  auto cat = b.op("Concat", {up, side, grouped}, {{"axis", I(1)}});
  auto g = b.op("Flatten", {b.op("GlobalAveragePool", {cat})});
  auto logits = b.op("Gemm", {g, b.constant("fcw", weights({14, 5}, 22, 0.5f)),
                              b.constant("fcb", weights({1, 5}, 23, 0.1f))});
  b.output(b.op("Softmax", {logits}, {{"axis", I(-1)}}), "probs");
  Fixture f{"cnn_mix", b.finish(), {}};
  f.inputs = [](int64_t n) {
    Tensor l = luma_images(n * 3, 32, 32, 31);
    return NamedTensors{{"image", l.reshaped({n, 3, 32, 32})}};
  };
  return f;
}

// Two inputs and two outputs; shape arithmetic at run time (Shape → Gather → Unsqueeze → Concat →
// Reshape), Slice with negative steps, Sqrt, ReduceMean, Identity, a Constant node.
Fixture two_input() {
  GraphBuilder b("two_input");
  auto a = b.input("a", DType::F32, {"N", 4, 8, 8});
  auto c = b.input("b", DType::F32, {"N", 4, 8, 8});
  auto s = b.op("Add", {a, c});
  auto m = b.op("Mul", {a, c});
  auto one = b.op("Constant", {}, {{"value_float", Attribute::of_float(1.f)}});
  auto sq = b.op("Sqrt", {b.op("Add", {b.op("Mul", {m, m}), one})});
  auto red = b.op("ReduceMean", {sq}, {{"axes", Is({2, 3})}, {"keepdims", I(0)}});
  auto n =
      b.op("Gather", {b.op("Shape", {s}), b.constant("idx0", Tensor::from_i64({}, {0}))}, {{"axis", I(0)}});
  auto shape = b.op(
      "Concat", {b.op("Unsqueeze", {n, b.constant("ax0", i64s({0}))}), b.constant("rest", i64s({-1, 16}))},
      {{"axis", I(0)}});
  auto r = b.op("Reshape", {s, shape});
  auto sl = b.op("Slice", {r, b.constant("st", i64s({-1, 1})), b.constant("en", i64s({-1000, 13})),
                           b.constant("axes", i64s({1, 2})), b.constant("steps", i64s({-2, 3}))});
  b.output(b.op("Identity", {sl}), "sliced");
  b.output(b.op("Unsqueeze", {red, b.constant("ax1", i64s({-1}))}), "mean");
  Fixture f{"two_input", b.finish(), {}};
  f.inputs = [](int64_t n) {
    Rng r(41);
    return NamedTensors{{"a", random_tensor({n, 4, 8, 8}, r, -2.f, 2.f)},
                        {"b", random_tensor({n, 4, 8, 8}, r, -1.f, 3.f)}};
  };
  return f;
}

// The same small filter with its weights in an external .onnx.data file.
Fixture external_data() {
  GraphBuilder b("external_data");
  auto x = b.input("frame", DType::F32, {"N", 1, 24, 24});
  auto h = b.op("Relu", {b.op("Conv",
                              {x, b.constant("w1", weights({16, 1, 3, 3}, 50, 0.4f)),
                               b.constant("b1", weights({16}, 51, 0.05f))},
                              {{"pads", Is({1, 1, 1, 1})}})});
  h = b.op("Conv", {h, b.constant("w2", weights({1, 16, 3, 3}, 52, 0.1f))}, {{"pads", Is({1, 1, 1, 1})}});
  b.output(b.op("Add", {x, h}), "filtered");
  Fixture f{"external_data", b.finish(), {}};
  f.external_threshold = 64;
  f.inputs = [](int64_t n) { return NamedTensors{{"frame", luma_images(n, 24, 24, 61)}}; };
  return f;
}

// QDQ: activations uint8 per-tensor, weights int8 per-channel (axis 0), int32 bias through DequantizeLinear.
Fixture qdq_conv() {
  GraphBuilder b("qdq_conv");
  auto x = b.input("frame", DType::F32, {"N", 1, 20, 20});
  auto q = [&](const std::string& v, float s, uint8_t zp) {
    return b.op("DequantizeLinear",
                {b.op("QuantizeLinear", {v, b.constant(v + "_s", scalar(s)),
                                         b.constant(v + "_zp", scalar_q<uint8_t>(DType::U8, zp))}),
                 v + "_s", v + "_zp"});
  };
  auto xq = q(x, 1.f / 255, 0);
  auto [wq, ws] = quantize_weights(weights({8, 1, 3, 3}, 70, 0.4f));
  auto w =
      b.op("DequantizeLinear",
           {b.constant("w_q", wq), b.constant("w_s", ws), b.constant("w_zp", Tensor::zeros(DType::I8, {8}))},
           {{"axis", I(0)}});
  std::vector<int32_t> bias(8);
  for (int i = 0; i < 8; ++i) bias[i] = (i - 4) * 37;
  Tensor bs = Tensor::empty(DType::F32, {8});
  for (int i = 0; i < 8; ++i) bs.data<float>()[i] = ws.data<float>()[i] / 255;
  auto bias_f =
      b.op("DequantizeLinear", {b.constant("b_q", i32s(bias)), b.constant("b_s", bs)}, {{"axis", I(0)}});
  auto h = b.op("Relu", {b.op("Conv", {xq, w, bias_f}, {{"pads", Is({1, 1, 1, 1})}})});
  auto hq = b.op("QuantizeLinear",
                 {h, b.constant("h_s", scalar(0.01f)), b.constant("h_zp", scalar_q<uint8_t>(DType::U8, 0))});
  auto act = b.op("DequantizeLinear", {hq, "h_s", "h_zp"});
  b.output(hq, "act_q");
  b.output(act, "act");
  Fixture f{"qdq_conv", b.finish(), {}};
  f.quantized = true;
  f.inputs = [](int64_t n) { return NamedTensors{{"frame", luma_images(n, 20, 20, 71)}}; };
  return f;
}

// QOperator form: QLinearConv (per-channel int8 weights, int32 bias) and QLinearMatMul, int8 activations.
Fixture qlinear() {
  GraphBuilder b("qlinear");
  auto x = b.input("frame", DType::F32, {1, 2, 12, 12});
  auto xs = b.constant("x_s", scalar(1.f / 127)), xzp = b.constant("x_zp", scalar_q<int8_t>(DType::I8, -3));
  auto xq = b.op("QuantizeLinear", {x, xs, xzp});
  auto [wq, ws] = quantize_weights(weights({4, 2, 3, 3}, 80, 0.3f));
  std::vector<int32_t> bias{120, -50, 0, 900};
  auto ys = b.constant("y_s", scalar(0.02f)), yzp = b.constant("y_zp", scalar_q<int8_t>(DType::I8, 5));
  auto y = b.op("QLinearConv",
                {xq, xs, xzp, b.constant("w_q", wq), b.constant("w_s", ws),
                 b.constant("w_zp", Tensor::zeros(DType::I8, {4})), ys, yzp, b.constant("bias", i32s(bias))},
                {{"strides", Is({2, 2})}, {"pads", Is({1, 1, 1, 1})}});
  auto flat = b.op("Reshape", {y, b.constant("flat_shape", i64s({4, 36}))});
  auto [mq, ms] = quantize_weights(weights({36, 5}, 81, 0.2f));
  (void)ms;
  auto y2 = b.op("QLinearMatMul",
                 {flat, ys, yzp, b.constant("m_q", mq), b.constant("m_s", scalar(0.004f)),
                  b.constant("m_zp", scalar_q<int8_t>(DType::I8, 0)), b.constant("o_s", scalar(0.05f)),
                  b.constant("o_zp", scalar_q<int8_t>(DType::I8, 0))});
  auto out = b.op("DequantizeLinear", {y2, "o_s", "o_zp"});
  b.output(y, "conv_q");
  b.output(out, "out");
  Fixture f{"qlinear", b.finish(), {}};
  f.quantized = true;
  f.inputs = [](int64_t) {
    Rng r(91);
    return NamedTensors{{"frame", random_tensor({1, 2, 12, 12}, r, -1.f, 1.f)}};
  };
  return f;
}

// Dynamic quantization as ORT's quantize_dynamic writes it: DynamicQuantizeLinear, ConvInteger,
// MatMulInteger, Cast, scale multiplication.
Fixture dynamic_int() {
  GraphBuilder b("dynamic_int");
  auto x = b.input("frame", DType::F32, {"N", 1, 16, 16});
  auto dq = b.node("DynamicQuantizeLinear", {x}, {}, 3);
  Rng r(100);
  Tensor wq = random_int8({4, 1, 3, 3}, r, DType::U8);
  auto wzp = b.constant("w_zp", scalar_q<uint8_t>(DType::U8, 128));
  auto acc = b.op("ConvInteger", {dq[0], b.constant("w_q", wq), dq[2], wzp}, {{"pads", Is({1, 1, 1, 1})}});
  auto scale = b.op("Mul", {dq[1], b.constant("w_s", scalar(0.004f))});
  auto h = b.op("Mul", {b.op("Cast", {acc}, {{"to", I(1)}}), scale});
  h = b.op("Relu", {h});
  auto flat = b.op("Reshape", {h, b.constant("shape", i64s({-1, 64}))});
  auto dq2 = b.node("DynamicQuantizeLinear", {flat}, {}, 3);
  Tensor mq = random_int8({64, 3}, r, DType::I8);
  auto mm = b.op("MatMulInteger", {dq2[0], b.constant("m_q", mq), dq2[2]});
  auto s2 = b.op("Mul", {dq2[1], b.constant("m_s", scalar(0.01f))});
  b.output(b.op("Mul", {b.op("Cast", {mm}, {{"to", I(1)}}), s2}), "out");
  Fixture f{"dynamic_int", b.finish(), {}};
  f.quantized = true;
  f.inputs = [](int64_t n) { return NamedTensors{{"frame", luma_images(n, 16, 16, 101)}}; };
  return f;
}

// Gemm variants the runtime fuses with a following Relu/Clip: per-column C, scalar C with beta,
// alpha with a constant B, and a Gemm whose output is also a graph output (must not be fused).
Fixture gemm_fusions() {
  GraphBuilder b("gemm_fusions");
  auto x = b.input("x", DType::F32, {"N", 8});
  auto h = b.op("Relu", {b.op("Gemm", {x, b.constant("w1", weights({8, 16}, 120, 0.5f)),
                                       b.constant("c1", weights({16}, 121, 0.2f))})});
  auto g2 = b.op("Gemm", {h, b.constant("w2", weights({16, 4}, 122, 0.5f)), b.constant("c2", scalar(0.3f))},
                 {{"beta", F(0.5f)}, {"alpha", F(2.f)}});
  auto clip = b.op("Clip", {g2, b.constant("lo", scalar(-1.f)), b.constant("hi", scalar(1.f))});
  auto g3 = b.op("Gemm", {clip, b.constant("w3", weights({3, 4}, 123, 0.5f))}, {{"transB", I(1)}});
  auto r3 = b.op("Relu", {g3});
  b.output(g3, "pre_relu");
  b.output(r3, "post_relu");
  Fixture f{"gemm_fusions", b.finish(), {}};
  f.inputs = [](int64_t n) {
    Rng r(131);
    return NamedTensors{{"x", random_tensor({n, 8}, r, -2.f, 2.f)}};
  };
  return f;
}

// The zoo's U-Net (width 4): 2×2 stride-2 MaxPool and ConvTranspose (the runtime's direct paths for
// them), Concat skips, Sigmoid; an odd-sized input would not pool evenly, so 16×20.
Fixture unet() {
  Fixture f{"unet", zoo::unet(3, 4, 5), {}};
  f.inputs = [](int64_t n) {
    Tensor l = luma_images(n * 3, 16, 20, 41);
    return NamedTensors{{"image", l.reshaped({n, 3, 16, 20})}};
  };
  return f;
}

}  // namespace

std::vector<Fixture> fixtures() {
  return {mlp_gelu(), cnn_mix(),     two_input(),    external_data(), qdq_conv(),
          qlinear(),  dynamic_int(), gemm_fusions(), unet()};
}

}  // namespace tinyqat::test
