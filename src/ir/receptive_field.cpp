#include "ir/receptive_field.h"

#include <algorithm>
#include <map>
#include <set>

namespace tinyqat {

namespace {

// Ops whose output sample depends only on the input samples at the same position (any channel).
const std::set<std::string>& pointwise_ops() {
  static const std::set<std::string> ops = {"Abs",
                                            "Add",
                                            "And",
                                            "BatchNormalization",
                                            "Cast",
                                            "Ceil",
                                            "Clip",
                                            "Concat",
                                            "DequantizeLinear",
                                            "Div",
                                            "DynamicQuantizeLinear",
                                            "Elu",
                                            "Equal",
                                            "Erf",
                                            "Exp",
                                            "Floor",
                                            "Gelu",
                                            "Greater",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Identity",
                                            "LeakyRelu",
                                            "Less",
                                            "Log",
                                            "Max",
                                            "Min",
                                            "Mul",
                                            "Neg",
                                            "Not",
                                            "Or",
                                            "Pow",
                                            "PRelu",
                                            "QuantizeLinear",
                                            "Reciprocal",
                                            "Relu",
                                            "Round",
                                            "Selu",
                                            "Sigmoid",
                                            "Sign",
                                            "Softplus",
                                            "Sqrt",
                                            "Sub",
                                            "Tanh",
                                            "Where",
                                            "Dropout"};
  return ops;
}

int64_t sat_add(int64_t a, int64_t b) {
  return std::min(kMaxHalo, a + b);
}
int64_t sat_mul(int64_t a, int64_t b) {
  return (b != 0 && a > kMaxHalo / b) ? kMaxHalo : std::min(kMaxHalo, a * b);
}

// Reach beyond the centre of one sliding-window node (the larger spatial axis).
int64_t window_reach(const Graph& g, const Node& n, size_t weight_input) {
  std::vector<int64_t> kernel = n.get_ints("kernel_shape");
  if (kernel.empty() && weight_input != 0) {
    // The weight's shape: an initializer, or the inferred shape of a computed weight (QDQ: the output
    // of a DequantizeLinear).
    if (auto w = n.input(weight_input)) {
      if (const Tensor* t = g.initializer(*w); t != nullptr && t->shape().size() >= 3) {
        kernel.assign(t->shape().begin() + 2, t->shape().end());
      } else if (auto it = g.value_info.find(*w);
                 it != g.value_info.end() && it->second.has_shape && it->second.shape.size() >= 3) {
        for (size_t i = 2; i < it->second.shape.size(); ++i)
          kernel.push_back(it->second.shape[i].is_known() ? it->second.shape[i].value : kMaxHalo);
      }
    }
  }
  if (kernel.empty()) return kMaxHalo;  // unknown: never tile on a guess
  const size_t r = kernel.size();
  const std::vector<int64_t> dil = n.get_ints("dilations", std::vector<int64_t>(r, 1));
  const std::vector<int64_t> pads = n.get_ints("pads", std::vector<int64_t>(2 * r, 0));
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  int64_t reach = 0;
  for (size_t i = 0; i < r; ++i) {
    const int64_t span = sat_mul(std::max<int64_t>(kernel[i] - 1, 0), i < dil.size() ? dil[i] : 1);
    int64_t axis = 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      axis = (span + 1) / 2;
    } else if (auto_pad == "VALID") {
      axis = span;
    } else {
      const int64_t begin = i < pads.size() ? pads[i] : 0;
      axis = std::max(begin, span - begin);
    }
    reach = std::max(reach, axis);
  }
  return reach;
}

int64_t first_stride(const Node& n) {
  int64_t s = 1;
  for (int64_t v : n.get_ints("strides")) s = std::max(s, v);
  return s;
}

}  // namespace

ReceptiveField receptive_field(const Graph& g, const std::string& input) {
  struct Reach {
    int64_t halo = 0, stride = 1;
  };
  std::map<std::string, Reach> reach{{input, {}}};
  ReceptiveField rf;
  for (const Node& n : g.nodes) {
    Reach in;
    bool reached = false;
    for (const auto& v : n.inputs) {
      auto it = reach.find(v);
      if (v.empty() || it == reach.end()) continue;
      reached = true;
      if (it->second.halo >= in.halo) in = it->second;
    }
    if (!reached) continue;  // a constant subgraph
    Reach out = in;
    const std::string& op = n.op_type;
    const bool custom = !n.domain.empty() && n.domain != "ai.onnx";
    if (!custom && (op == "Conv" || op == "ConvInteger" || op == "QLinearConv" || op == "MaxPool" ||
                    op == "AveragePool" || op == "LpPool")) {
      const size_t weight = op == "QLinearConv" ? 3 : (op == "Conv" || op == "ConvInteger") ? 1 : 0;
      // Weights computed from the plane mix positions (scales and zero points follow the
      // DynamicQuantizeLinear rule above).
      if (weight != 0 && weight < n.inputs.size() && reach.count(n.inputs[weight]) && rf.nonlocal.empty())
        rf.nonlocal = n.describe();
      out.halo = sat_add(in.halo, sat_mul(window_reach(g, n, weight), in.stride));
      out.stride = sat_mul(in.stride, first_stride(n));
    } else if (custom || !pointwise_ops().count(op) ||
               (op == "Concat" && n.get_int("axis", 1) != 1 && n.get_int("axis", 1) != -3)) {
      if (rf.nonlocal.empty()) rf.nonlocal = n.describe();
    }
    for (const auto& o : n.outputs) reach[o] = out;
  }
  for (const auto& o : g.outputs) {
    auto it = reach.find(o.name);
    if (it != reach.end() && it->second.halo >= rf.halo) {
      rf.halo = it->second.halo;
      rf.stride = it->second.stride;
    }
  }
  return rf;
}

}  // namespace tinyqat
