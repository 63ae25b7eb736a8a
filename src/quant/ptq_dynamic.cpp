// Dynamic PTQ, in the form ONNX Runtime's quantize_dynamic writes (so ORT runs it): weights become
// per-channel int8 once; activations are quantized at run time by DynamicQuantizeLinear (uint8), the
// product is an exact int32 ConvInteger / MatMulInteger, then rescaled in float and biased.
#include <fmt/format.h>

#include "core/error.h"
#include "quant/patterns.h"
#include "quant/ptq.h"
#include "quant/weights.h"

namespace tinyqat::quant {

Model ptq_dynamic(const Model& unfolded, const QConfig& cfg, PtqReport* report) {
  PtqReport local;
  PtqReport& rep = report ? *report : local;
  check_fp32(unfolded, "dynamic PTQ");
  const Model fp32 = with_batchnorm_folded(unfolded, rep);
  Model out = fp32;
  Graph& g = out.graph;
  std::vector<Node> rewritten;
  const size_t original = g.nodes.size();
  std::vector<bool> replaced(original, false);
  for (size_t i = 0; i < original; ++i) {
    const Node n = g.nodes[i];
    if (qdq::pattern_of(n).pattern != qdq::Pattern::WeightedUnit) continue;
    std::string why = "ConvTranspose has no dynamic integer form (ONNX has no ConvTransposeInteger)";
    auto u = cfg.exclude.count(n.name) || n.op_type == "ConvTranspose"
                 ? std::nullopt
                 : weighted_unit(fp32.graph, static_cast<int>(i), &why);
    if (!u) {
      rep.kept_fp32.emplace_back(n.name, cfg.exclude.count(n.name) ? "excluded (--exclude)" : why);
      continue;
    }
    replaced[i] = true;
    rep.quantized.push_back(n.name);
    const bool conv = n.op_type == "Conv";
    Tensor w = *fp32.graph.initializer(u->weight);
    if (n.op_type == "Gemm" && u->weight_axis == 0) {  // transB=1: store B as [K, N] for MatMulInteger
      Tensor t = Tensor::empty(DType::F32, {w.dim(1), w.dim(0)});
      for (int64_t r = 0; r < w.dim(0); ++r)
        for (int64_t c = 0; c < w.dim(1); ++c)
          t.data<float>()[c * w.dim(0) + r] = w.data<float>()[r * w.dim(1) + c];
      w = t;
    }
    const int64_t axis = conv ? 0 : 1;
    QuantizedWeight qw = quantize_weight_per_channel(w, axis);
    const int64_t C = qw.scale.numel();
    auto fresh = [&](const std::string& s) { return g.unique_name(n.name + "_" + s); };
    const std::string xq = fresh("x_quantized"), xs = fresh("x_scale"), xz = fresh("x_zero_point");
    const std::string wq = fresh("w_quantized"), wz = fresh("w_zero_point"), acc = fresh("acc"),
                      accf = fresh("acc_float");
    const std::string scale_shape = fresh("scale"), sc = fresh("output_scale"), ws = fresh("w_scale");
    g.initializers[wq] = qw.q;
    // Zero points are all 0: one scalar serves every channel (ORT's ConvInteger takes no per-channel
    // zero point); the per-channel scales live in the float rescale below.
    g.initializers[wz] = Tensor::zeros(DType::I8, {});
    // Per output channel scales, shaped to broadcast over the integer result ([1,C,1,1] or [C]).
    Shape sshape = conv ? Shape{1, C} : Shape{C};
    if (conv)
      for (int d = 2; d < w.rank(); ++d) sshape.push_back(1);
    g.initializers[ws] = qw.scale.reshaped(sshape);
    rewritten.push_back(
        Node{fresh("DynamicQuantizeLinear"), "DynamicQuantizeLinear", "", {u->input}, {xq, xs, xz}, {}});
    Node integer{fresh(conv ? "ConvInteger" : "MatMulInteger"),
                 conv ? "ConvInteger" : "MatMulInteger",
                 "",
                 {xq, wq, xz, wz},
                 {acc},
                 {}};
    if (conv)
      for (const auto& [k, a] : n.attrs) integer.attrs[k] = a;
    rewritten.push_back(integer);
    rewritten.push_back(Node{fresh("Cast"), "Cast", "", {acc}, {accf}, {{"to", Attribute::of_int(1)}}});
    rewritten.push_back(Node{fresh("scale_Mul"), "Mul", "", {xs, ws}, {sc}, {}});
    const std::string out_name = u->op_output;
    if (u->bias.empty()) {
      rewritten.push_back(Node{fresh("output_Mul"), "Mul", "", {accf, sc}, {out_name}, {}});
    } else {
      const std::string scaled = fresh("scaled"), b = fresh("bias");
      g.initializers[b] = fp32.graph.initializer(u->bias)->reshaped(sshape);
      rewritten.push_back(Node{fresh("output_Mul"), "Mul", "", {accf, sc}, {scaled}, {}});
      rewritten.push_back(Node{fresh("bias_Add"), "Add", "", {scaled, b}, {out_name}, {}});
    }
  }
  std::vector<Node> nodes;
  for (size_t i = 0; i < original; ++i)
    if (!replaced[i]) nodes.push_back(g.nodes[i]);
  for (auto& n : rewritten) nodes.push_back(std::move(n));
  g.nodes = std::move(nodes);
  TQ_CHECK(!rep.quantized.empty(), "dynamic PTQ: no Conv, Gemm or MatMul with constant weights to quantize");
  finish_quantized_graph(out);
  out.metadata.emplace_back("tinyqat.quant_mode", "dynamic");
  out.metadata.emplace_back("tinyqat.qconfig",
                            "weights=int8-per-channel-symmetric,activations=dynamic-uint8");
  return out;
}

}  // namespace tinyqat::quant
