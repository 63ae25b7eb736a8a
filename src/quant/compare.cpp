#include "quant/compare.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_dump.h"
#include "quant/metrics.h"
#include "quant/sample_runner.h"

namespace tinyqat::quant {

void Clipping::add(double x) {
  ++values;
  const double width = hi > lo ? hi - lo : 1.0;
  if (x < lo) {
    ++below;
    max_overshoot = std::max(max_overshoot, (lo - x) / width);
  } else if (x > hi) {
    ++above;
    max_overshoot = std::max(max_overshoot, (x - hi) / width);
  }
}

namespace {

void append(std::vector<double>& dst, const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) dst.push_back(t.scalar_as_double(i));
}

// Runs `m` over the data with `extra` tensors exposed; returns every output (and, with keep_extra, every
// extra value) flattened, by name. `on_extra` sees each chunk of each extra value.
std::map<std::string, std::vector<double>> run_all(
    const Model& m, const NamedTensors& data, const std::vector<std::string>& extra, int threads,
    int64_t* samples, bool keep_extra = true,
    const std::function<void(const std::string&, const Tensor&)>& on_extra = {}) {
  int64_t n = -1;
  for (const auto& in : m.graph.inputs) {
    auto it = std::find_if(data.begin(), data.end(), [&](const auto& kv) { return kv.first == in.name; });
    TQ_CHECK(it != data.end(), "the evaluation data has no array named '{}' (a model input)", in.name);
    TQ_CHECK(it->second.rank() >= 1 && (n < 0 || n == it->second.dim(0)),
             "evaluation arrays differ in sample count");
    n = it->second.dim(0);
  }
  TQ_CHECK(n > 0, "the evaluation data holds no samples");
  *samples = n;
  SampleRunner runner(m, extra, threads);
  std::set<std::string> outputs, extras(extra.begin(), extra.end());
  for (const auto& o : m.graph.outputs) outputs.insert(o.name);
  std::map<std::string, std::vector<double>> res;
  runner.run(data, n, [&](const std::vector<Tensor>& out) {
    for (size_t i = 0; i < out.size(); ++i) {
      const std::string& name = runner.names()[i];
      const bool is_extra = extras.count(name) != 0;
      if (is_extra && on_extra) on_extra(name, out[i]);
      if (outputs.count(name) || (is_extra && keep_extra)) append(res[name], out[i]);
    }
  });
  return res;
}

// The constant scalar an initializer name holds, as a double; nullopt otherwise.
std::optional<double> scalar_initializer(const Graph& g, const std::string& name) {
  const Tensor* t = g.initializer(name);
  if (!t || t->numel() != 1) return std::nullopt;
  return t->scalar_as_double(0);
}

// The real range a QuantizeLinear node represents.
Clipping range_of(const Graph& g, const Node& q) {
  Clipping c;
  if (q.inputs.size() < 2) return c;
  auto s = scalar_initializer(g, q.inputs[1]);
  std::optional<double> zp = 0.0;
  DType type = DType::U8;  // ONNX: no zero point means uint8
  if (q.inputs.size() >= 3 && !q.inputs[2].empty()) {
    zp = scalar_initializer(g, q.inputs[2]);
    if (const Tensor* z = g.initializer(q.inputs[2])) type = z->dtype();
  }
  if (!s || !zp || (type != DType::U8 && type != DType::I8)) return c;
  const double qmin = type == DType::U8 ? 0 : -128, qmax = type == DType::U8 ? 255 : 127;
  c.known = true;
  c.lo = (qmin - *zp) * *s;
  c.hi = (qmax - *zp) * *s;
  return c;
}

double psnr(const std::vector<double>& a, const std::vector<double>& b) {
  double mse = rmse(a, b);
  mse *= mse;
  return mse == 0 ? INFINITY : 10.0 * std::log10(1.0 / mse);
}

}  // namespace

Comparison compare_models(const Model& fp32, const Model& q, const NamedTensors& data,
                          const CompareOptions& opts) {
  Comparison c;
  // The fp32 tensors the quantized graph quantizes: inputs of its QuantizeLinear nodes that exist in fp32.
  std::vector<std::string> layers;
  std::map<std::string, std::string> dq_of;  // fp32 tensor → the quantized graph's dequantized value
  std::map<std::string, Clipping> clip;      // fp32 tensor → its calibrated range, then its counts
  const bool watch = opts.per_layer || opts.clipping;
  if (watch) {
    std::map<std::string, std::string> producer;
    for (const auto& n : fp32.graph.nodes)
      for (const auto& o : n.outputs) producer[o] = n.name;
    for (const auto& in : fp32.graph.inputs) producer[in.name] = "";
    for (const auto& n : q.graph.nodes) {
      if (n.op_type != "QuantizeLinear" || !producer.count(n.inputs[0]) || dq_of.count(n.inputs[0])) continue;
      for (const auto& m : q.graph.nodes)
        if (m.op_type == "DequantizeLinear" && m.inputs[0] == n.outputs[0]) {
          layers.push_back(n.inputs[0]);
          dq_of[n.inputs[0]] = m.outputs[0];
          clip[n.inputs[0]] = range_of(q.graph, n);
          break;
        }
    }
  }
  std::vector<std::string> q_extra;
  for (const auto& l : layers) q_extra.push_back(dq_of[l]);
  int64_t n1 = 0, n2 = 0;
  auto count_clipping = [&](const std::string& name, const Tensor& t) {
    Clipping& k = clip.at(name);
    if (!k.known) return;
    for (int64_t i = 0; i < t.numel(); ++i) k.add(t.scalar_as_double(i));
  };
  auto ref = run_all(fp32, data, layers, opts.threads, &n1, opts.per_layer, count_clipping);
  auto cand = run_all(q, data, opts.per_layer ? q_extra : std::vector<std::string>{}, opts.threads, &n2);
  c.samples = n1;
  std::vector<double> target;
  if (!opts.target.empty()) {
    auto it = std::find_if(data.begin(), data.end(), [&](const auto& kv) { return kv.first == opts.target; });
    TQ_CHECK(it != data.end(), "the evaluation data has no target array '{}'", opts.target);
    append(target, it->second);
  }
  for (const auto& o : fp32.graph.outputs) {
    TQ_CHECK(cand.count(o.name), "the quantized model has no output '{}' (the fp32 model's)", o.name);
    const auto &a = ref.at(o.name), &b = cand.at(o.name);
    TQ_CHECK(a.size() == b.size(), "output '{}': {} values from fp32, {} from the quantized model", o.name,
             a.size(), b.size());
    OutputComparison oc;
    oc.name = o.name;
    oc.values = static_cast<int64_t>(a.size());
    oc.plcc = plcc(a, b);
    oc.srocc = srocc(a, b);
    oc.rmse = rmse(a, b);
    oc.max_abs = max_abs_diff(a, b);
    oc.plcc_drop = 1.0 - oc.plcc;
    if (!target.empty()) {
      TQ_CHECK(target.size() == a.size(), "target '{}' has {} values, output '{}' {}", opts.target,
               target.size(), o.name, a.size());
      oc.ref_target_plcc = plcc(a, target);
      oc.cand_target_plcc = plcc(b, target);
      oc.ref_target_psnr = psnr(a, target);
      oc.cand_target_psnr = psnr(b, target);
    }
    c.outputs.push_back(oc);
    if (opts.keep_values) {
      c.fp32_values.push_back(a);
      c.int8_values.push_back(b);
    }
  }
  // A unit's pre-activation copy: its only fp32 consumer is a Relu/Clip whose output is quantized too.
  std::map<std::string, std::vector<const Node*>> consumers;
  for (const auto& n : fp32.graph.nodes)
    for (const auto& in : n.inputs) consumers[in].push_back(&n);
  std::map<std::string, std::string> producer_node;
  for (const auto& n : fp32.graph.nodes)
    for (const auto& o : n.outputs) producer_node[o] = n.name;
  for (const auto& l : layers) {
    LayerComparison lc;
    lc.tensor = l;
    lc.node = producer_node.count(l) ? producer_node.at(l) : "";
    const auto& cs = consumers[l];
    if (cs.size() == 1 && (cs[0]->op_type == "Relu" || cs[0]->op_type == "Clip") &&
        dq_of.count(cs[0]->outputs[0]))
      lc.pre_activation_of = cs[0]->outputs[0];
    lc.clipping = clip.at(l);
    if (opts.per_layer) {
      const auto &a = ref.at(l), &b = cand.at(dq_of[l]);
      if (a.size() != b.size()) continue;
      lc.sqnr_db = sqnr_db(a, b);
      lc.rmse = rmse(a, b);
      lc.max_abs = max_abs_diff(a, b);
    }
    c.layers.push_back(lc);
  }
  return c;
}

DropMeasurement measure_drop(const Model& fp32, const Model& int8, const NamedTensors& data, int threads,
                             bool clipping, bool keep_values) {
  DropMeasurement d;
  CompareOptions o;
  o.threads = threads;
  o.clipping = clipping;
  o.keep_values = keep_values;
  d.comparison = compare_models(fp32, int8, data, o);
  d.drop = -INFINITY;
  for (const auto& o : d.comparison.outputs) {
    double drop = std::isnan(o.plcc_drop) ? 2.0 : o.plcc_drop;
    if (drop > d.drop) {
      d.drop = drop;
      d.worst_output = o.name;
    }
  }
  TQ_CHECK(!d.comparison.outputs.empty(), "the model has no outputs to compare");
  return d;
}

nlohmann::ordered_json clipping_json(const Clipping& k) {
  return {{"range", {k.lo, k.hi}},           {"values", k.values},     {"below", k.below_share()},
          {"above", k.above_share()},        {"below_count", k.below}, {"above_count", k.above},
          {"max_overshoot", k.max_overshoot}};
}

std::string comparison_json(const Comparison& c) {
  nlohmann::ordered_json j;
  j["samples"] = c.samples;
  j["outputs"] = nlohmann::ordered_json::array();
  for (const auto& o : c.outputs) {
    nlohmann::ordered_json e{{"name", o.name},          {"values", o.values}, {"plcc", o.plcc},
                             {"srocc", o.srocc},        {"rmse", o.rmse},     {"max_abs", o.max_abs},
                             {"plcc_drop", o.plcc_drop}};
    if (o.ref_target_plcc) {
      e["fp32_target_plcc"] = *o.ref_target_plcc;
      e["int8_target_plcc"] = *o.cand_target_plcc;
      e["fp32_target_psnr"] = *o.ref_target_psnr;
      e["int8_target_psnr"] = *o.cand_target_psnr;
    }
    j["outputs"].push_back(e);
  }
  if (!c.layers.empty()) {
    j["layers"] = nlohmann::ordered_json::array();
    for (const auto& l : c.layers) {
      nlohmann::ordered_json e{{"tensor", l.tensor},
                               {"node", l.node},
                               {"sqnr_db", std::isinf(l.sqnr_db) ? 999.0 : l.sqnr_db},
                               {"rmse", l.rmse},
                               {"max_abs", l.max_abs}};
      if (!l.pre_activation_of.empty()) e["pre_activation_of"] = l.pre_activation_of;
      if (l.clipping.known) e["clipping"] = clipping_json(l.clipping);
      j["layers"].push_back(e);
    }
  }
  return json_dump(j, 2);
}

std::vector<const LayerComparison*> clipping_over(const Comparison& c, double threshold) {
  std::vector<const LayerComparison*> res;
  for (const auto& l : c.layers)
    if (l.clipping.known && l.pre_activation_of.empty() && l.clipping.share() > threshold) res.push_back(&l);
  return res;
}

std::string clipping_line(const LayerComparison& l) {
  const Clipping& k = l.clipping;
  return fmt::format(
      "{}{}: clips {:.3g} % of its values (below {:.3g} %, above {:.3g} %), overshoot up to "
      "{:.3g} of its range [{:.4g}, {:.4g}]",
      l.tensor, l.node.empty() || l.node == l.tensor ? "" : " (node " + l.node + ")", 100 * k.share(),
      100 * k.below_share(), 100 * k.above_share(), k.max_overshoot, k.lo, k.hi);
}

std::string comparison_text(const Comparison& c) {
  std::string s = fmt::format("{} samples\n", c.samples);
  for (const auto& o : c.outputs) {
    s += fmt::format("output {:<16} PLCC {:.6f} (drop {:.2e})  SROCC {:.6f}  RMSE {:.4g}  max|diff| {:.4g}\n",
                     o.name, o.plcc, o.plcc_drop, o.srocc, o.rmse, o.max_abs);
    if (o.ref_target_plcc)
      s += fmt::format("  vs target: fp32 PLCC {:.6f} PSNR {:.2f} dB | int8 PLCC {:.6f} PSNR {:.2f} dB\n",
                       *o.ref_target_plcc, *o.ref_target_psnr, *o.cand_target_plcc, *o.cand_target_psnr);
  }
  if (!c.layers.empty()) {
    s += "per quantized tensor (SQNR vs the fp32 graph, low = sensitive; fp32 values outside the calibrated "
         "range, below / above, and the largest overshoot as a fraction of the range):\n";
    for (const auto& l : c.layers) {
      s += fmt::format("  {:<40} SQNR {:7.2f} dB  RMSE {:.4g}  max|diff| {:.4g}", l.tensor, l.sqnr_db, l.rmse,
                       l.max_abs);
      if (l.clipping.known)
        s += fmt::format("  clipped {:.3g} % / {:.3g} %  overshoot {:.3g}", 100 * l.clipping.below_share(),
                         100 * l.clipping.above_share(), l.clipping.max_overshoot);
      if (!l.node.empty()) s += fmt::format("  (node {})", l.node);
      if (!l.pre_activation_of.empty())
        s += fmt::format(" [pre-activation copy of {}: clipping below is the activation's]",
                         l.pre_activation_of);
      s += "\n";
    }
  }
  return s;
}

}  // namespace tinyqat::quant
