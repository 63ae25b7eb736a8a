#include "quant/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_dump.h"
#include "qdq/selectors.h"
#include "quant/compare.h"
#include "quant/ptq.h"

namespace tinyqat::quant {

namespace {

// The file's metadata is input like any other: a margin that is not a number in [0, 10] is an Error.
double parse_margin(const std::string& v) {
  char* end = nullptr;
  const double m = std::strtod(v.c_str(), &end);
  TQ_CHECK(!v.empty() && end == v.c_str() + v.size() && std::isfinite(m) && m >= 0 && m <= 10,
           "tinyqat.qconfig metadata: range_margin '{}' is not a number in [0, 10]", v);
  return m;
}

}  // namespace

QConfig qconfig_of(const Model& int8, bool* known) {
  QConfig cfg;
  *known = false;
  for (const auto& [k, v] : int8.metadata) {
    if (k != "tinyqat.qconfig") continue;
    *known = true;
    cfg.bias_correction = false;  // files written before it existed, and with it off, do not name it
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto eq = item.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = item.substr(0, eq), val = item.substr(eq + 1);
      if (key == "activations")
        cfg.activations = parse_act_scheme(val);
      else if (key == "method")
        cfg.method = parse_method(val);
      else if (key == "range_margin")
        cfg.range_margin = parse_margin(val);
      else if (key == "bias_correction")
        cfg.bias_correction = val == "empirical";
    }
  }
  std::set<std::string> outputs;
  for (const auto& o : int8.graph.outputs) outputs.insert(o.name);
  for (const auto& n : int8.graph.nodes)
    if (n.op_type == "DequantizeLinear" && outputs.count(n.outputs[0])) cfg.quantize_outputs = true;
  return cfg;
}

Sensitivity sensitivity(const Model& fp32, const NamedTensors& calibration, const NamedTensors& eval,
                        const QConfig& cfg, int threads, const std::function<void(int, int)>& progress) {
  PtqReport full;
  const Model q = ptq_static(fp32, calibration, cfg, &full);
  Sensitivity s;
  s.full_drop = measure_drop(fp32, q, eval, threads).drop;
  std::vector<const Node*> units;
  for (const auto& name : full.quantized)
    for (const auto& n : fp32.graph.nodes)
      if (!name.empty() && n.name == name && qdq::pattern_of(n).pattern == qdq::Pattern::WeightedUnit)
        units.push_back(&n);
  const int total = 2 * static_cast<int>(units.size());
  int done = 0;
  for (const Node* u : units) {
    UnitSensitivity r{u->name, u->op_type, 0, 0};
    QConfig only = cfg, without = cfg;
    for (const auto& name : full.quantized)
      if (name != u->name && !name.empty()) only.exclude.insert(name);
    without.exclude.insert(u->name);
    r.only_drop = measure_drop(fp32, ptq_static(fp32, calibration, only, nullptr), eval, threads).drop;
    if (progress) progress(++done, total);
    r.without_drop = measure_drop(fp32, ptq_static(fp32, calibration, without, nullptr), eval, threads).drop;
    if (progress) progress(++done, total);
    s.units.push_back(r);
  }
  std::stable_sort(s.units.begin(), s.units.end(),
                   [](const auto& a, const auto& b) { return a.without_drop < b.without_drop; });
  return s;
}

namespace {

const UnitSensitivity* worst_alone(const Sensitivity& s) {
  return &*std::max_element(s.units.begin(), s.units.end(),
                            [](const auto& a, const auto& b) { return a.only_drop < b.only_drop; });
}

}  // namespace

std::string sensitivity_text(const Sensitivity& s) {
  std::string t = fmt::format(
      "sensitivity per unit (PLCC drop; all units quantized: {:.3e}), most sensitive first:\n"
      "  {:<32} {:<7} {:>14} {:>16}  keep it fp32 with\n",
      s.full_drop, "node", "op", "only this unit", "all but this one");
  for (const auto& u : s.units)
    t += fmt::format("  {:<32} {:<7} {:>14.3e} {:>16.3e}  --exclude {}\n", u.node, u.op_type, u.only_drop,
                     u.without_drop, u.node);
  if (!s.units.empty()) {
    const auto& w = s.units.front();
    t += fmt::format("most sensitive: {} (ptq --exclude {}: drop {:.3e} -> {:.3e})\n", w.node, w.node,
                     s.full_drop, w.without_drop);
    const auto& a = *worst_alone(s);
    t += fmt::format(
        "worst alone: {} (only this unit quantized: drop {:.3e}); a tensor it shares with a "
        "neighbouring unit stays quantized while either is\n",
        a.node, a.only_drop);
  }
  return t;
}

std::string sensitivity_json(const Sensitivity& s) {
  nlohmann::ordered_json j;
  j["full_drop"] = s.full_drop;
  j["units"] = nlohmann::ordered_json::array();
  for (const auto& u : s.units)
    j["units"].push_back({{"node", u.node},
                          {"op_type", u.op_type},
                          {"only_drop", u.only_drop},
                          {"without_drop", u.without_drop},
                          {"exclude", "--exclude " + u.node}});
  if (!s.units.empty()) {
    j["most_sensitive"] = s.units.front().node;
    j["worst_alone"] = worst_alone(s)->node;
  }
  return json_dump(j, 2);
}

}  // namespace tinyqat::quant
