#include "quant/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "quant/metrics.h"
#include "quant/sample_runner.h"

namespace tinyqat::quant {

namespace {

void append(std::vector<double>& dst, const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) dst.push_back(t.scalar_as_double(i));
}

// Runs `m` over the data with `extra` tensors exposed; returns every output flattened, by name.
std::map<std::string, std::vector<double>> run_all(const Model& m, const NamedTensors& data,
                                                   const std::vector<std::string>& extra, int threads,
                                                   int64_t* samples) {
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
  std::map<std::string, std::vector<double>> res;
  runner.run(data, n, [&](const std::vector<Tensor>& out) {
    for (size_t i = 0; i < out.size(); ++i) append(res[runner.names()[i]], out[i]);
  });
  return res;
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
  if (opts.per_layer) {
    std::set<std::string> fp32_values;
    for (const auto& n : fp32.graph.nodes)
      for (const auto& o : n.outputs) fp32_values.insert(o);
    for (const auto& in : fp32.graph.inputs) fp32_values.insert(in.name);
    for (const auto& n : q.graph.nodes) {
      if (n.op_type != "QuantizeLinear" || !fp32_values.count(n.inputs[0])) continue;
      for (const auto& m : q.graph.nodes)
        if (m.op_type == "DequantizeLinear" && m.inputs[0] == n.outputs[0]) {
          layers.push_back(n.inputs[0]);
          dq_of[n.inputs[0]] = m.outputs[0];
        }
    }
  }
  std::vector<std::string> q_extra;
  for (const auto& l : layers) q_extra.push_back(dq_of[l]);
  int64_t n1 = 0, n2 = 0;
  auto ref = run_all(fp32, data, layers, opts.threads, &n1);
  auto cand = run_all(q, data, q_extra, opts.threads, &n2);
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
  }
  for (const auto& l : layers) {
    const auto &a = ref.at(l), &b = cand.at(dq_of[l]);
    if (a.size() != b.size()) continue;
    c.layers.push_back({l, sqnr_db(a, b), rmse(a, b), max_abs_diff(a, b)});
  }
  return c;
}

DropMeasurement measure_drop(const Model& fp32, const Model& int8, const NamedTensors& data, int threads) {
  DropMeasurement d;
  d.comparison = compare_models(fp32, int8, data, {false, "", threads});
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
    for (const auto& l : c.layers)
      j["layers"].push_back({{"tensor", l.tensor},
                             {"sqnr_db", std::isinf(l.sqnr_db) ? 999.0 : l.sqnr_db},
                             {"rmse", l.rmse},
                             {"max_abs", l.max_abs}});
  }
  return j.dump(2);
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
    s += "per quantized tensor (SQNR vs the fp32 graph; low = sensitive):\n";
    for (const auto& l : c.layers)
      s += fmt::format("  {:<40} SQNR {:7.2f} dB  RMSE {:.4g}  max|diff| {:.4g}\n", l.tensor, l.sqnr_db,
                       l.rmse, l.max_abs);
  }
  return s;
}

}  // namespace tinyqat::quant
