// Writes a QOperator (QLinearConv) version of an fp32 Conv/Relu/Add/Clip model such as the fork's
// learned_filter_v1.onnx, so that tinyqat and ONNX Runtime can both run the same int8 graph before the
// project's own PTQ exists. A minimal post-training quantization, for timing:
//   activations uint8 per-tensor, ranges from one run on a synthetic luma image (min/max);
//   weights int8 symmetric per output channel (absmax / 127), bias int32 at scale s_x·s_w[c];
//   Conv+Relu → one QLinearConv whose output range starts at 0 (the ReLU is the saturation at zp 0);
//   residual Add → DequantizeLinear ×2, Add, QuantizeLinear (float, as ORT's QDQ form leaves it);
//   the final Add with the float input and the Clip stay float.
//   make_qop_model IN.onnx OUT.onnx
#include <cmath>
#include <cstdio>
#include <map>

#include "core/numerics.h"
#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"

using namespace tinyqat;

struct QVal {
  std::string name, s, zp;
  float scale;
};

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_qop_model IN.onnx OUT.onnx\n");
    return 2;
  }
  Model fp = import_onnx(argv[1]);
  const Graph& g = fp.graph;
  const std::string in_name = g.inputs.at(0).name;
  // Calibration: every node output becomes a graph output (so nothing is fused away).
  Model cal = fp;
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs) cal.graph.outputs.push_back(ValueInfo{o, DType::F32, false, {}});
  const int64_t H = 224, W = 224;
  Tensor x = Tensor::empty(DType::F32, {1, 1, H, W});
  uint64_t s = 7;
  for (int64_t i = 0; i < H * W; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const float noise = ((s >> 40) / 16777216.f - 0.5f) * 0.1f;
    const int64_t r = i / W, c = i % W;
    x.data<float>()[i] =
        std::clamp(0.5f + 0.4f * std::sin(r * 0.05f) * std::cos(c * 0.07f) + noise, 0.f, 1.f);
  }
  Executor ex(cal);
  auto outs = ex.run({{in_name, x}});
  std::map<std::string, std::pair<float, float>> range;
  for (size_t i = 0; i < outs.size(); ++i) {
    const Tensor& t = outs[i];
    float lo = 0, hi = 0;
    for (int64_t j = 0; j < t.numel(); ++j)
      lo = std::min(lo, t.data<float>()[j]), hi = std::max(hi, t.data<float>()[j]);
    range[cal.graph.outputs[i].name] = {lo, hi};
  }
  range[in_name] = {0.f, 1.f};

  GraphBuilder b("learned_filter_qop");
  auto xin = b.input(in_name, DType::F32, {1, 1, H, W});
  std::map<std::string, QVal> q;
  std::map<std::string, std::string> fl;  // float values
  fl[in_name] = xin;
  int id = 0;
  auto qparams = [&](const std::string& v) {
    auto [lo, hi] = range.at(v);
    lo = std::min(lo, 0.f), hi = std::max(hi, 0.f);
    const float sc = hi > lo ? (hi - lo) / 255.f : 1.f;
    const int zp = static_cast<int>(std::clamp(std::nearbyint(-lo / sc), 0.f, 255.f));
    QVal r;
    r.scale = sc;
    r.s = b.constant("s" + std::to_string(id), Tensor::scalar_f32(sc));
    Tensor z = Tensor::empty(DType::U8, {});
    *z.data<uint8_t>() = static_cast<uint8_t>(zp);
    r.zp = b.constant("zp" + std::to_string(id++), z);
    return r;
  };
  auto quantize = [&](const std::string& v) {
    QVal r = qparams(v);
    r.name = b.op("QuantizeLinear", {fl.at(v), r.s, r.zp});
    return r;
  };
  auto dequant = [&](const std::string& v) {
    if (fl.count(v)) return fl.at(v);
    const QVal& r = q.at(v);
    return b.op("DequantizeLinear", {r.name, r.s, r.zp});
  };
  q[in_name] = quantize(in_name);
  for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
    const Node& n = g.nodes[ni];
    if (n.op_type == "Conv") {
      const QVal& in = q.at(n.inputs[0]);
      const Tensor& w = *g.initializer(n.inputs[1]);
      const Tensor* bias = n.inputs.size() > 2 ? g.initializer(n.inputs[2]) : nullptr;
      const int64_t M = w.dim(0), K = w.numel() / M;
      Tensor wq = Tensor::empty(DType::I8, w.shape()), ws = Tensor::empty(DType::F32, {M});
      Tensor bq = Tensor::empty(DType::I32, {M});
      for (int64_t m = 0; m < M; ++m) {
        float mx = 1e-8f;
        for (int64_t k = 0; k < K; ++k) mx = std::max(mx, std::fabs(w.data<float>()[m * K + k]));
        const float sc = mx / 127.f;
        ws.data<float>()[m] = sc;
        for (int64_t k = 0; k < K; ++k)
          wq.data<int8_t>()[m * K + k] =
              static_cast<int8_t>(quantize_value(w.data<float>()[m * K + k], sc, 0, -127, 127));
        bq.data<int32_t>()[m] =
            bias ? static_cast<int32_t>(std::nearbyint(bias->data<float>()[m] / (in.scale * sc))) : 0;
      }
      std::string out = n.outputs[0];
      auto users = g.consumers(out);
      const bool relu = users.size() == 1 && g.nodes[users[0]].op_type == "Relu";
      if (relu) out = g.nodes[users[0]].outputs[0];
      QVal y = qparams(out);
      std::vector<std::pair<std::string, Attribute>> attrs;
      for (const char* a : {"pads", "strides", "dilations", "group", "kernel_shape"})
        if (n.has(a)) attrs.emplace_back(a, n.attrs.at(a));
      const std::string p = "c" + std::to_string(ni);
      y.name =
          b.op("QLinearConv",
               {in.name, in.s, in.zp, b.constant(p + ".w", wq), b.constant(p + ".ws", ws),
                b.constant(p + ".wzp", Tensor::zeros(DType::I8, {M})), y.s, y.zp, b.constant(p + ".b", bq)},
               attrs);
      q[out] = y;
    } else if (n.op_type == "Relu") {
      if (!q.count(n.outputs[0])) {
        std::fprintf(stderr, "a Relu that does not follow a Conv\n");
        return 1;
      }
    } else if (n.op_type == "Add") {
      auto sum = b.op("Add", {dequant(n.inputs[0]), dequant(n.inputs[1])});
      auto users = g.consumers(n.outputs[0]);
      const bool to_clip = users.size() == 1 && g.nodes[users[0]].op_type == "Clip";
      fl[n.outputs[0]] = sum;
      if (!to_clip) q[n.outputs[0]] = quantize(n.outputs[0]);
    } else if (n.op_type == "Clip") {
      std::vector<std::string> ins{dequant(n.inputs[0])};
      for (size_t i = 1; i < n.inputs.size(); ++i)
        ins.push_back(
            n.inputs[i].empty() ? "" : b.constant("clip" + std::to_string(i), *g.initializer(n.inputs[i])));
      fl[n.outputs[0]] = b.op("Clip", ins);
    } else {
      std::fprintf(stderr, "unsupported op %s\n", n.op_type.c_str());
      return 1;
    }
  }
  b.output(dequant(g.outputs.at(0).name), g.outputs.at(0).name);
  Model m = b.finish();
  export_onnx(m, argv[2]);
  std::printf("wrote %s (%zu nodes)\n", argv[2], m.graph.nodes.size());
}
