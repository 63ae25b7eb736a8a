#include "ir/summary.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"

namespace tinyqat {

ModelSummary summarize(const Model& m) {
  ModelSummary s;
  s.opset = m.opset;
  s.ir_version = m.ir_version;
  s.producer = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
  s.inputs = m.graph.inputs;
  s.outputs = m.graph.outputs;
  s.metadata = m.metadata;
  const Graph& g = m.graph;
  for (const auto& [name, t] : g.initializers) {
    s.parameter_count += t.numel();
    s.parameter_bytes += static_cast<int64_t>(t.nbytes());
  }
  std::set<std::string> kinds;
  bool per_channel = false, per_tensor = false;
  auto note_weight_scale = [&](const Tensor* scale) {
    if (!scale) return;
    (scale->numel() > 1 ? per_channel : per_tensor) = true;
  };
  for (const auto& n : g.nodes) {
    s.op_histogram[n.op_type]++;
    if (n.op_type == "Constant") {
      Tensor t = constant_node_value(n);
      s.parameter_count += t.numel();
      s.parameter_bytes += static_cast<int64_t>(t.nbytes());
    }
    if (n.op_type == "DynamicQuantizeLinear" || n.op_type == "ConvInteger" || n.op_type == "MatMulInteger") {
      kinds.insert("dynamic");
      // The weight of an *Integer op is its second input; its zero point says per-tensor/channel.
      const Tensor* w = n.input(1) ? g.initializer(*n.input(1)) : nullptr;
      if (w && w->rank() >= 2) {
        const Tensor* wzp = n.input(3) ? g.initializer(*n.input(3)) : nullptr;
        const int64_t channels = n.op_type == "ConvInteger" ? w->dim(0) : w->dim(-1);
        // Per-channel when the zero point or the float rescale after Cast → Mul has one value per channel.
        bool pc = wzp && wzp->numel() == channels && channels > 1;
        for (int c : g.consumers(n.outputs[0]))
          if (g.nodes[c].op_type == "Cast")
            for (int m : g.consumers(g.nodes[c].outputs[0]))
              for (const auto& in : g.nodes[m].inputs) {
                const Tensor* t = g.initializer(in);
                int sp = g.producer(in);
                if (t && t->numel() == channels && channels > 1) pc = true;
                if (sp >= 0 && g.nodes[sp].op_type == "Mul")
                  for (const auto& in2 : g.nodes[sp].inputs)
                    if (const Tensor* s = g.initializer(in2); s && s->numel() == channels && channels > 1)
                      pc = true;
              }
        (pc ? per_channel : per_tensor) = true;
      }
    }
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") kinds.insert("qdq");
    if (n.op_type == "DequantizeLinear" && n.input(0) && g.initializer(*n.input(0)))
      note_weight_scale(n.input(1) ? g.initializer(*n.input(1)) : nullptr);
    if (n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul") {
      kinds.insert("qoperator");
      note_weight_scale(n.input(4) ? g.initializer(*n.input(4)) : nullptr);
    }
  }
  if (kinds.empty()) {
    s.quantization = "fp32";
  } else {
    for (const auto& k : kinds) s.quantization += (s.quantization.empty() ? "" : "+") + k;
    s.weight_granularity = per_channel && per_tensor ? "mixed" : per_channel ? "per-channel" : "per-tensor";
  }
  return s;
}

static nlohmann::ordered_json value_json(const ValueInfo& v) {
  nlohmann::ordered_json j;
  j["name"] = v.name;
  j["dtype"] = dtype_name(v.dtype);
  if (v.has_shape) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& d : v.shape) {
      if (d.is_known())
        arr.push_back(d.value);
      else
        arr.push_back(d.param.empty() ? "?" : d.param);
    }
    j["shape"] = arr;
  } else {
    j["shape"] = nullptr;
  }
  return j;
}

std::string summary_json(const ModelSummary& s) {
  nlohmann::ordered_json j;
  j["opset"] = s.opset;
  j["ir_version"] = s.ir_version;
  j["producer"] = s.producer;
  j["inputs"] = nlohmann::ordered_json::array();
  for (const auto& v : s.inputs) j["inputs"].push_back(value_json(v));
  j["outputs"] = nlohmann::ordered_json::array();
  for (const auto& v : s.outputs) j["outputs"].push_back(value_json(v));
  j["ops"] = s.op_histogram;
  j["parameters"] = s.parameter_count;
  j["parameter_bytes"] = s.parameter_bytes;
  j["quantization"] = s.quantization;
  if (!s.weight_granularity.empty()) j["weight_quantization"] = s.weight_granularity;
  nlohmann::ordered_json md = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.metadata) md[k] = v;
  j["metadata"] = md;
  return json_dump(j, 2);
}

std::string summary_text(const ModelSummary& s) {
  std::string o;
  o += fmt::format("opset {}  (ir_version {}, producer '{}')\n", s.opset, s.ir_version, s.producer);
  o += "inputs:\n";
  for (const auto& v : s.inputs)
    o += fmt::format("  {:<20} {:<8} {}\n", v.name, dtype_name(v.dtype), v.shape_str());
  o += "outputs:\n";
  for (const auto& v : s.outputs)
    o += fmt::format("  {:<20} {:<8} {}\n", v.name, dtype_name(v.dtype), v.shape_str());
  o += "ops:\n";
  for (const auto& [op, c] : s.op_histogram) o += fmt::format("  {:<24} {}\n", op, c);
  o += fmt::format("parameters: {} ({} bytes)\n", s.parameter_count, s.parameter_bytes);
  o += fmt::format("quantization: {}{}\n", s.quantization,
                   s.weight_granularity.empty() ? "" : " (weights " + s.weight_granularity + ")");
  for (const auto& [k, v] : s.metadata) o += fmt::format("metadata {}: {}\n", k, v);
  return o;
}

std::string nodes_text(const Model& m) {
  const Graph& g = m.graph;
  auto shape_of = [&](const std::string& v) -> std::string {
    if (v.empty()) return "-";
    if (const Tensor* t = g.initializer(v)) return shape_str(t->shape());
    auto it = g.value_info.find(v);
    if (it != g.value_info.end()) return it->second.shape_str();
    for (const auto& in : g.inputs)
      if (in.name == v) return in.shape_str();
    return "?";
  };
  std::string o;
  for (const auto& n : g.nodes) {
    std::string ins, outs, attrs;
    // Separators appended apart: GCC 12's -Wrestrict misfires on "literal" + string.
    for (const auto& i : n.inputs) (ins.empty() ? ins : ins += ' ') += shape_of(i);
    for (const auto& x : n.outputs) (outs.empty() ? outs : outs += ' ') += shape_of(x);
    for (const auto& [k, a] : n.attrs) {
      if (a.kind == Attribute::Kind::Int)
        attrs += fmt::format(" {}={}", k, a.i);
      else if (a.kind == Attribute::Kind::Ints)
        attrs += fmt::format(" {}={}", k, shape_str(a.ints));
      else if (a.kind == Attribute::Kind::Float)
        attrs += fmt::format(" {}={}", k, a.f);
      else if (a.kind == Attribute::Kind::String)
        attrs += fmt::format(" {}={}", k, a.s);
    }
    o += fmt::format("{:<22} {:<28} {} -> {}{}\n", n.op_type, n.name, ins, outs, attrs);
  }
  return o;
}

}  // namespace tinyqat
