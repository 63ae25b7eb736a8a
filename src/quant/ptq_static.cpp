// Static PTQ: choose the tensors to quantize (by unit: the selectors of src/qdq), calibrate their ranges on
// real inputs, then write a QDQ graph: QuantizeLinear → DequantizeLinear on every quantized activation,
// DequantizeLinear on per-channel int8 weights and int32 biases.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "ir/fold_batchnorm.h"
#include "ir/summary.h"
#include "qdq/selectors.h"
#include "quant/observers.h"
#include "quant/patterns.h"
#include "quant/plan.h"
#include "quant/ptq.h"
#include "quant/sample_runner.h"
#include "quant/weights.h"

namespace tinyqat::quant {

void check_fp32(const Model& m, const std::string& what) {
  std::string q = summarize(m).quantization;
  TQ_CHECK(q == "fp32", "{}: the model is already quantized ({}); quantize its fp32 original instead", what,
           q);
}

QuantPlan plan_static(const Graph& g, const QConfig& cfg, PtqReport* rep) {
  QuantPlan p;
  if (!cfg.quantize_outputs) p.float_heads = qdq::float_heads(g);
  auto is_float = [&](const std::string& v) { return p.float_heads.count(v) != 0; };
  std::set<int> in_unit;  // activation nodes absorbed by a unit
  auto quantized = [&](const std::string& v) { return p.in_plan.count(v) != 0; };
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    const Node& n = g.nodes[i];
    if (in_unit.count(i)) continue;
    if (cfg.exclude.count(n.name)) {
      rep->kept_fp32.emplace_back(n.name, "excluded (--exclude)");
      continue;
    }
    const qdq::Fp32Selection s = qdq::select_fp32(g, i, quantized);
    if (s.pattern == qdq::Pattern::None) {
      if (!s.silent) rep->kept_fp32.emplace_back(n.name, s.why);
      continue;
    }
    if (s.unit && s.unit->activation >= 0) in_unit.insert(s.unit->activation);
    if (s.unit && s.unit->activation >= 0 && !is_float(s.unit->output)) {
      // The op's own output carries the unit's parameters too: a QDQ pair there lets ONNX Runtime fuse
      // the op into an integer kernel, and with the activation's range it changes no value (the
      // negative side saturates where the activation would zero it anyway). Its own observed range
      // would include what the activation cuts.
      p.same_as[s.unit->op_output] = s.unit->output;
    }
    if (s.unit) p.units.push_back(*s.unit);
    for (const auto& [a, b] : s.ties)
      if (!is_float(a) && !is_float(b)) p.ties.join(a, b);
    for (const auto& t : s.quantize)
      if (!is_float(t)) p.add(t);
    if (s.counts_as_quantized) rep->quantized.push_back(n.name);
  }
  for (const auto& o : g.outputs)
    if (is_float(o.name)) rep->float_outputs.push_back(o.name);
  return p;
}

namespace {

// Checks the calibration set against the model's inputs and returns the number of samples.
int64_t check_calibration(const Model& m, const NamedTensors& calib) {
  TQ_CHECK(!calib.empty(), "calibration set is empty");
  int64_t samples = -1;
  for (const auto& in : m.graph.inputs) {
    auto it = std::find_if(calib.begin(), calib.end(), [&](const auto& kv) { return kv.first == in.name; });
    TQ_CHECK(it != calib.end(), "calibration set has no array named '{}' (the model input); it has: {}",
             in.name,
             fmt::join(
                 [&] {
                   std::vector<std::string> names;
                   for (const auto& kv : calib) names.push_back(kv.first);
                   return names;
                 }(),
                 ", "));
    const Tensor& t = it->second;
    TQ_CHECK(t.dtype() == in.dtype, "calibration array '{}' is {}, the model input is {}", in.name,
             dtype_name(t.dtype()), dtype_name(in.dtype));
    TQ_CHECK(t.rank() >= 1, "calibration array '{}' is a scalar; samples are stacked on axis 0", in.name);
    TQ_CHECK(in.has_shape && static_cast<size_t>(t.rank()) == in.shape.size(),
             "calibration array '{}' has shape {}; the model input is {} (samples stacked on axis 0)",
             in.name, shape_str(t.shape()), in.shape_str());
    for (size_t d = 1; d < in.shape.size(); ++d)
      TQ_CHECK(!in.shape[d].is_known() || in.shape[d].value == t.dim(static_cast<int>(d)),
               "calibration array '{}' has shape {}; the model input is {}", in.name, shape_str(t.shape()),
               in.shape_str());
    TQ_CHECK(t.dim(0) > 0, "calibration array '{}' holds no samples", in.name);
    TQ_CHECK(samples < 0 || samples == t.dim(0),
             "calibration arrays hold different sample counts ({} and {})", samples, t.dim(0));
    samples = t.dim(0);
    const float* p = t.dtype() == DType::F32 ? t.data<float>() : nullptr;
    for (int64_t i = 0; p && i < t.numel(); ++i)
      TQ_CHECK(std::isfinite(p[i]), "calibration array '{}' holds NaN or Inf (element {})", in.name, i);
  }
  return samples;
}

// Runs the fp32 model over the calibration set with every planned tensor exposed, once for min/max
// and, for distribution-based methods, once more into histograms.
std::map<std::string, RangeObserver> observe(const Model& m, const QuantPlan& plan, const NamedTensors& calib,
                                             const QConfig& cfg, int64_t* used,
                                             CalibrationCoverage* coverage) {
  int64_t samples = check_calibration(m, calib);
  if (cfg.max_samples > 0) samples = std::min(samples, cfg.max_samples);
  *used = samples;
  const std::vector<std::string>& watched = plan.tensors;
  SampleRunner runner(m, watched);
  std::vector<int> index;
  for (const auto& t : watched) index.push_back(runner.index_of(t));
  const int64_t chunk = runner.fixed_batch();
  TQ_CHECK(chunk == 0 || samples % chunk == 0,
           "the model's batch dimension is fixed at {}; the calibration sample count {} is not a multiple",
           chunk, samples);
  std::map<std::string, RangeObserver> obs;
  for (const auto& t : watched) obs.emplace(t, RangeObserver(t));
  const bool need_hist = cfg.method != CalibMethod::MinMax;
  // The min/max pass stops once after the first three quarters (rounded down to the runner's chunk, so
  // every chunk holds the same samples as without the stop) to see whether the last quarter still widened
  // the ranges.
  int64_t early = coverage ? samples * 3 / 4 : 0;
  early -= early % (chunk > 0 ? chunk : 16);
  std::map<std::string, std::pair<float, float>> early_range;
  for (int pass = 0; pass < (need_hist ? 2 : 1); ++pass) {
    auto fn = [&](const std::vector<Tensor>& res) {
      for (size_t i = 0; i < watched.size(); ++i) {
        if (pass == 0)
          obs.at(watched[i]).observe_minmax(res[index[i]]);
        else
          obs.at(watched[i]).observe_histogram(res[index[i]], cfg.activations);
      }
    };
    if (pass == 0 && early > 0 && early < samples) {
      runner.run(calib, 0, early, fn);
      for (const auto& t : watched) early_range[t] = {obs.at(t).min(), obs.at(t).max()};
      runner.run(calib, early, samples, fn);
    } else {
      runner.run(calib, samples, fn);
    }
    if (pass == 0 && coverage) {
      coverage->early_samples = early_range.empty() ? 0 : early;
      for (const auto& [t, r] : early_range) {
        const double lo = obs.at(t).min(), hi = obs.at(t).max(), width = hi - lo;
        const double growth = width > 0 ? (width - (r.second - r.first)) / width : 0.0;
        if (growth > kGrowthWarn) coverage->growing.push_back({t, r.first, r.second, lo, hi, growth});
      }
      std::stable_sort(coverage->growing.begin(), coverage->growing.end(),
                       [](const auto& a, const auto& b) { return a.growth > b.growth; });
      for (const auto& in : m.graph.inputs) {
        auto it =
            std::find_if(calib.begin(), calib.end(), [&](const auto& kv) { return kv.first == in.name; });
        const Tensor& t = it->second;
        const int64_t per = t.numel() / t.dim(0), n = samples * per;
        CalibrationCoverage::Input ci{in.name, 0, 0};
        for (int64_t i = 0; i < n; ++i) {
          const double v = t.scalar_as_double(i);
          ci.min = i == 0 ? v : std::min(ci.min, v);
          ci.max = i == 0 ? v : std::max(ci.max, v);
        }
        coverage->inputs.push_back(ci);
      }
    }
    if (pass == 0 && need_hist) {
      // Tied tensors share one range: widen every member to the group's min/max before histograms.
      Ties ties = plan.ties;
      std::map<std::string, RangeObserver> group;
      for (const auto& t : watched) group[ties.find(t)].merge_minmax(obs.at(t));
      for (const auto& t : watched) {
        RangeObserver widened(t);
        widened.merge_minmax(group[ties.find(t)]);
        obs[t] = widened;
      }
    }
  }
  return obs;
}

}  // namespace

std::map<std::string, std::pair<float, float>> calibrate_ranges(const Model& fp32, const QuantPlan& plan,
                                                                const NamedTensors& calibration,
                                                                const QConfig& cfg, int64_t* used,
                                                                CalibrationCoverage* coverage) {
  auto obs = observe(fp32, plan, calibration, cfg, used, coverage);
  // One range per tie group: the union of its members' ranges.
  std::map<std::string, std::pair<float, float>> group_range;
  for (const auto& t : plan.tensors) {
    auto r = obs.at(t).range(cfg);
    std::string root = plan.ties.find(t);
    auto it = group_range.find(root);
    if (it == group_range.end())
      group_range[root] = r;
    else
      it->second = {std::min(it->second.first, r.first), std::max(it->second.second, r.second)};
  }
  std::map<std::string, std::pair<float, float>> ranges;
  for (const auto& t : plan.tensors) ranges[t] = group_range.at(plan.ties.find(t));
  return ranges;
}

Model with_batchnorm_folded(const Model& fp32, PtqReport& rep) {
  Model m = fp32;
  rep.folded_batchnorms = fold_batchnorm(m.graph);
  return m;
}

Model ptq_static(const Model& unfolded, const NamedTensors& calibration, const QConfig& cfg,
                 PtqReport* report) {
  PtqReport local;
  PtqReport& rep = report ? *report : local;
  check_fp32(unfolded, "static PTQ");
  const Model fp32 = with_batchnorm_folded(unfolded, rep);
  QuantPlan plan = plan_static(fp32.graph, cfg, &rep);
  TQ_CHECK(!plan.units.empty(), "static PTQ: no Conv, Gemm or MatMul with constant weights to quantize");
  TQ_CHECK(cfg.range_margin >= 0 && std::isfinite(cfg.range_margin), "range margin {} is not >= 0",
           cfg.range_margin);
  std::map<std::string, QParams> acts;
  const float widen = static_cast<float>(1.0 + cfg.range_margin);
  for (const auto& [t, r] : calibrate_ranges(fp32, plan, calibration, cfg, &rep.samples, &rep.coverage))
    acts[t] = cfg.range_margin > 0 ? qparams_for_range(r.first * widen, r.second * widen, cfg.activations)
                                   : qparams_for_range(r.first, r.second, cfg.activations);
  // Bias correction adds the biases it needs to the plan's units and the float graph it writes from.
  const Model base = cfg.bias_correction
                         ? correct_biases(fp32, &plan, acts, calibration, rep.samples, &rep.bias_corrections)
                         : fp32;
  Model out = write_qdq(base, plan, acts, &rep);
  out.metadata.emplace_back("tinyqat.quant_mode", "static");
  out.metadata.emplace_back(
      "tinyqat.qconfig",
      fmt::format("weights=int8-per-channel-symmetric,activations={},method={}{}{}", name(cfg.activations),
                  name(cfg.method),
                  cfg.range_margin > 0 ? fmt::format(",range_margin={:g}", cfg.range_margin) : "",
                  cfg.bias_correction ? ",bias_correction=empirical" : ""));
  return out;
}

Model write_qdq(const Model& fp32, const QuantPlan& plan, const std::map<std::string, QParams>& acts,
                PtqReport* report) {
  PtqReport local;
  PtqReport& rep = report ? *report : local;
  for (const auto& t : plan.tensors) {
    auto it = acts.find(t);
    TQ_CHECK(it != acts.end() && it->second.scale > 0 && std::isfinite(it->second.scale),
             "QDQ export: no valid quantization parameters for tensor '{}'", t);
    rep.activations[t] = it->second;
  }
  std::vector<std::string> to_rewrite = plan.tensors;
  for (const auto& [pre, post] : plan.same_as) {
    rep.activations[pre] = rep.activations.at(post);
    to_rewrite.push_back(pre);
  }

  Model out = fp32;
  Graph& g = out.graph;
  std::vector<Node> added;
  auto scalar_q = [](const QParams& q) {
    Tensor z = Tensor::empty(q.type, {});
    if (q.type == DType::U8)
      *z.data<uint8_t>() = static_cast<uint8_t>(q.zero_point);
    else
      *z.data<int8_t>() = static_cast<int8_t>(q.zero_point);
    return z;
  };
  // Activations: T → QuantizeLinear → DequantizeLinear → every consumer of T (one shared pair: ONNX
  // Runtime's selectors want a single QuantizeLinear after the op that produces T).
  for (const auto& t : to_rewrite) {
    const QParams& q = rep.activations.at(t);
    const std::string s_name = g.unique_name(t + "_scale"), z_name = g.unique_name(t + "_zero_point");
    g.initializers[s_name] = Tensor::scalar_f32(q.scale);
    g.initializers[z_name] = scalar_q(q);
    std::string src = t, dq_out = g.unique_name(t + "_dq");
    if (g.is_graph_output(t)) {
      // Keep the graph's output name on the dequantized value.
      src = g.unique_name(t + "_float");
      for (auto& n : g.nodes)
        for (auto& o : n.outputs)
          if (o == t) o = src;
      dq_out = t;
    }
    for (auto& n : g.nodes)
      for (auto& in : n.inputs)
        if (in == t) in = dq_out;
    const std::string q_out = g.unique_name(t + "_q");
    g.nodes.push_back(
        Node{g.unique_name(t + "_QuantizeLinear"), "QuantizeLinear", "", {src, s_name, z_name}, {q_out}, {}});
    g.nodes.push_back(Node{g.unique_name(t + "_DequantizeLinear"),
                           "DequantizeLinear",
                           "",
                           {q_out, s_name, z_name},
                           {dq_out},
                           {}});
  }
  // Weights and biases: per-channel int8 and int32 through DequantizeLinear.
  for (const auto& u : plan.units) {
    Node& n = g.nodes[u.node];
    const Tensor w = *fp32.graph.initializer(u.weight);
    QuantizedWeight qw = quantize_weight_per_channel(w, u.weight_axis);
    const std::string wq = g.unique_name(u.weight + "_quantized"), ws = g.unique_name(u.weight + "_scale"),
                      wz = g.unique_name(u.weight + "_zero_point"), wdq = g.unique_name(u.weight + "_dq");
    g.initializers[wq] = qw.q;
    g.initializers[ws] = qw.scale;
    g.initializers[wz] = Tensor::zeros(DType::I8, {qw.scale.numel()});
    Node dqw{g.unique_name(u.weight + "_DequantizeLinear"), "DequantizeLinear", "", {wq, ws, wz}, {wdq},
             {{"axis", Attribute::of_int(u.weight_axis)}}};
    n.inputs[1] = wdq;
    if (!u.bias.empty()) {
      Tensor bias_scale;
      Tensor bq = quantize_bias(*fp32.graph.initializer(u.bias), rep.activations.at(u.input).scale, qw.scale,
                                &bias_scale);
      const std::string bqn = g.unique_name(u.bias + "_quantized"), bsn = g.unique_name(u.bias + "_scale"),
                        bdq = g.unique_name(u.bias + "_dq");
      g.initializers[bqn] = bq;
      g.initializers[bsn] = bias_scale;
      Node dqb{g.unique_name(u.bias + "_DequantizeLinear"),
               "DequantizeLinear",
               "",
               {bqn, bsn},
               {bdq},
               {{"axis", Attribute::of_int(0)}}};
      n.inputs[2] = bdq;
      added.push_back(dqb);
    }
    added.push_back(dqw);
  }
  for (auto& n : added) g.nodes.push_back(std::move(n));
  finish_quantized_graph(out);
  return out;
}

}  // namespace tinyqat::quant
