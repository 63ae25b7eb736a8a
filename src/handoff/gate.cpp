#include "handoff/gate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "core/json_dump.h"
#include "core/sha256.h"
#include "handoff/plots.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"

namespace tinyqat::handoff {

using namespace registry;  // the registry's types and files are what this folder writes

const char* name(GateStatus s) {
  switch (s) {
    case GateStatus::Pass:
      return "PASS";
    case GateStatus::Fail:
      return "FAIL";
    case GateStatus::Skip:
      return "SKIP";
    case GateStatus::Error:
      return "ERROR";
  }
  return "?";
}

int GateReport::exit_code() const {
  bool fail = false;
  for (const auto& r : results) {
    if (r.status == GateStatus::Error) return 2;
    fail |= r.status == GateStatus::Fail;
  }
  return fail ? 1 : 0;
}

namespace {

// The outputs of `m` on the first sample of the data (shapes kept: the frame picture).
std::vector<Tensor> first_sample_outputs(const Model& m, const NamedTensors& data, int threads) {
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const auto& in : m.graph.inputs)
    for (const auto& kv : data)
      if (kv.first == in.name && kv.second.rank() >= 1 && kv.second.dim(0) > 0)
        feeds.emplace_back(in.name, kv.second.rows(0, 1));
  if (feeds.size() != m.graph.inputs.size()) return {};
  return Executor(m, ExecutorOptions{threads}).run(feeds);
}

Model load_verified(const std::string& path, const std::string& want, const char* what) {
  PinnedFile f = read_pinned(path, want, "the registry");
  TQ_CHECK(f.ok(), "{} file {}", what, f.problem);
  return import_onnx_bytes(f.bytes.data(), f.bytes.size(), std::filesystem::path(path).parent_path().string(),
                           path);
}

// An evaluation file, read once and named by its digest; each model takes its inputs from it.
struct DataSet {
  std::vector<uint8_t> bytes;
  std::string label;
};

}  // namespace

GateReport run_gate(const Registry& reg, const std::vector<std::string>& ids, const GateOptions& opts) {
  GateReport rep;
  rep.registry = reg.path;
  std::vector<const Entry*> entries;
  if (ids.empty())
    for (const auto& e : reg.models) entries.push_back(&e);
  else
    for (const auto& id : ids) entries.push_back(&reg.at(id));
  std::map<std::string, DataSet> cache;
  auto data_set = [&](const std::string& path) -> const DataSet& {
    auto it = cache.find(path);
    if (it != cache.end()) return it->second;
    DataSet d;
    d.bytes = read_file(path);
    d.label =
        fmt::format("{} (sha256 {})", std::filesystem::path(path).filename().string(), sha256_hex(d.bytes));
    return cache.emplace(path, std::move(d)).first->second;
  };
  for (const Entry* e : entries) {
    GateResult r;
    r.id = e->id;
    r.quant_mode = e->mode();
    r.budget = e->budget();
    r.budget_recorded = e->quant_accuracy_budget_plcc.has_value();
    if (e->is_smoke()) {
      r.message = "smoke model (a load-path probe, not a quality model)";
    } else if (!e->quantized()) {
      r.message = "quant_mode fp32: nothing to gate";
    } else {
      try {
        auto it = opts.data_for.find(e->id);
        const std::string path = it != opts.data_for.end() ? it->second : opts.data;
        TQ_CHECK(!path.empty(), "no evaluation data for this model (--data EVAL.npz or --data {}=EVAL.npz)",
                 e->id);
        const DataSet& ds = data_set(path);
        r.data = ds.label;
        Model fp32 = load_verified(reg.onnx_path(*e).string(), e->sha256, "fp32");
        Model int8 = load_verified(reg.int8_path(*e).string(), *e->int8_sha256, "int8");
        const NamedTensors data =
            parse_model_data(ds.bytes, path, names_of(fp32.graph.inputs), "--data").inputs;
        quant::DropMeasurement d;
        try {
          const bool count_clipping = opts.clip_warn < 1.0;
          // The outputs' values are kept for the interval and the scatter plot (no second pass over the
          // data).
          d = quant::measure_drop(fp32, int8, data, opts.threads, count_clipping,
                                  opts.confidence > 0 || !opts.plots_dir.empty());
          if (opts.confidence > 0)
            r.interval = quant::bootstrap_drop(d.comparison.fp32_values, d.comparison.int8_values,
                                               d.comparison.samples, opts.confidence);
        } catch (const Error& err) {
          fail("{}: {}", path, err.what());
        }
        for (const auto* l : quant::clipping_over(d.comparison, opts.clip_warn)) r.clipping.push_back(*l);
        const auto a = std::move(d.comparison.fp32_values), b = std::move(d.comparison.int8_values);
        d.comparison.fp32_values.clear();
        d.comparison.int8_values.clear();
        r.comparison = d.comparison;
        r.drop = d.drop;
        r.worst_output = d.worst_output;
        const double gated = r.interval.confidence > 0 ? r.interval.high : d.drop;
        r.status = gated <= r.budget ? GateStatus::Pass : GateStatus::Fail;
        if (!opts.plots_dir.empty()) {
          size_t k = 0;
          for (size_t i = 0; i < fp32.graph.outputs.size(); ++i)
            if (fp32.graph.outputs[i].name == d.worst_output) k = i;
          std::filesystem::create_directories(opts.plots_dir);
          r.plot = (std::filesystem::path(opts.plots_dir) / (e->id + ".scatter.png")).string();
          write_scatter_png(r.plot, a[k], b[k],
                            fmt::format("{} ({}): {} int8 vs fp32, PLCC drop {:.3g}, budget {:.3g}: {}",
                                        e->id, d.worst_output, e->mode(), d.drop, r.budget, name(r.status)));
          // A filter's output is a picture: show it on the first sample.
          const auto fa = first_sample_outputs(fp32, data, opts.threads),
                     fb = first_sample_outputs(int8, data, opts.threads);
          if (k < fa.size() && k < fb.size() && fa[k].rank() == 4 && fa[k].dtype() == DType::F32 &&
              fa[k].dim(2) >= 4 && fa[k].dim(3) >= 4 && fa[k].shape() == fb[k].shape()) {
            r.frame_plot = (std::filesystem::path(opts.plots_dir) / (e->id + ".frame.png")).string();
            write_frame_png(
                r.frame_plot, fa[k], fb[k],
                fmt::format("{} ({}): first sample, {} int8 vs fp32", e->id, d.worst_output, e->mode()));
          }
        }
        if (opts.record) {
          Measurement m;
          m.drop_plcc = d.drop;
          m.budget = r.budget;
          m.measured_at = utc_now_iso8601();
          m.int8_sha256 = *e->int8_sha256;
          m.data = ds.label;
          m.samples = d.comparison.samples;
          write_sidecar(reg, *e, m);
        }
      } catch (const Error& err) {
        r.status = GateStatus::Error;
        r.message = err.what();
      } catch (const std::filesystem::filesystem_error& err) {
        r.status = GateStatus::Error;
        r.message = err.what();
      }
    }
    rep.results.push_back(std::move(r));
  }
  return rep;
}

static std::string budget_str(const GateResult& r) {
  return fmt::format("{:.6g}{}", r.budget, r.budget_recorded ? "" : " (default for " + r.quant_mode + ")");
}

std::string gate_text(const GateReport& rep) {
  std::string s;
  int counts[4] = {0, 0, 0, 0};
  for (const auto& r : rep.results) {
    ++counts[static_cast<int>(r.status)];
    switch (r.status) {
      case GateStatus::Skip:
        s += fmt::format("SKIP  {}: {}\n", r.id, r.message);
        break;
      case GateStatus::Error:
        s += fmt::format("ERROR {}: {}\n", r.id, r.message);
        break;
      default:
        s += fmt::format("{} ({} int8, {} samples, data {})\n", r.id, r.quant_mode, r.comparison.samples,
                         r.data);
        for (const auto& o : r.comparison.outputs)
          s += fmt::format("  {}: PLCC {:.6f}  SROCC {:.6f}  RMSE {:.6g}  max|diff| {:.6g}  drop {:.3e}\n",
                           o.name, o.plcc, o.srocc, o.rmse, o.max_abs, o.plcc_drop);
        for (const auto& l : r.clipping)
          s += fmt::format("  warning: clipping: {}\n", quant::clipping_line(l));
        if (!r.plot.empty()) s += fmt::format("  plot: {}\n", r.plot);
        if (!r.frame_plot.empty()) s += fmt::format("  frame: {}\n", r.frame_plot);
        if (r.interval.confidence > 0)
          s += fmt::format(
              "  PLCC drop {:.3e}, {:g} % interval [{:.3e}, {:.3e}] (bootstrap: {} resamples of "
              "the {} samples, seed {})\n",
              r.drop, 100 * r.interval.confidence, r.interval.low, r.interval.high, r.interval.resamples,
              r.comparison.samples, r.interval.seed);
        if (r.interval.confidence > 0)
          s += fmt::format("{}  {}: upper end of the PLCC drop's interval {:.3e} {} budget {}\n",
                           name(r.status), r.id, r.interval.high, r.status == GateStatus::Pass ? "<=" : ">",
                           budget_str(r));
        else
          s += fmt::format("{}  {}: PLCC drop {:.3e} {} budget {}\n", name(r.status), r.id, r.drop,
                           r.status == GateStatus::Pass ? "<=" : ">", budget_str(r));
    }
  }
  s += fmt::format("{} passed, {} failed, {} skipped, {} errors\n", counts[0], counts[1], counts[2],
                   counts[3]);
  return s;
}

std::string gate_json(const GateReport& rep) {
  nlohmann::ordered_json j;
  j["registry"] = rep.registry;
  j["exit_code"] = rep.exit_code();
  j["models"] = nlohmann::ordered_json::array();
  for (const auto& r : rep.results) {
    nlohmann::ordered_json m;
    m["id"] = r.id;
    m["quant_mode"] = r.quant_mode;
    m["status"] = name(r.status);
    if (!r.message.empty()) m["message"] = r.message;
    m["budget_plcc"] = r.budget;
    m["budget_recorded"] = r.budget_recorded;
    if (r.status == GateStatus::Pass || r.status == GateStatus::Fail) {
      m["drop_plcc"] = r.drop;
      m["worst_output"] = r.worst_output;
      m["samples"] = r.comparison.samples;
      m["data"] = r.data;
      m["outputs"] = nlohmann::ordered_json::array();
      for (const auto& o : r.comparison.outputs)
        m["outputs"].push_back({{"name", o.name},
                                {"values", o.values},
                                {"plcc", o.plcc},
                                {"srocc", o.srocc},
                                {"rmse", o.rmse},
                                {"max_abs_diff", o.max_abs},
                                {"plcc_drop", o.plcc_drop}});
      if (r.interval.confidence > 0)
        m["drop_interval"] = {
            {"confidence", r.interval.confidence}, {"low", r.interval.low},   {"high", r.interval.high},
            {"resamples", r.interval.resamples},   {"seed", r.interval.seed}, {"gated_on", "high"}};
      m["clipping_warnings"] = nlohmann::ordered_json::array();
      for (const auto& l : r.clipping) {
        nlohmann::ordered_json w{{"tensor", l.tensor}, {"node", l.node}};
        w["clipping"] = quant::clipping_json(l.clipping);
        m["clipping_warnings"].push_back(w);
      }
      if (!r.plot.empty()) m["plot"] = r.plot;
      if (!r.frame_plot.empty()) m["frame_plot"] = r.frame_plot;
    }
    j["models"].push_back(m);
  }
  return json_dump(j, 2);
}

std::string gate_markdown(const GateReport& rep) {
  std::string s = fmt::format("# Quantization accuracy gate\n\nRegistry: `{}`\n\n", rep.registry);
  s += "| model | mode | status | PLCC drop | budget | PLCC | SROCC | RMSE | max \\|diff\\| | samples |\n";
  s += "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rep.results) {
    if (r.status == GateStatus::Pass || r.status == GateStatus::Fail) {
      for (const auto& o : r.comparison.outputs)
        s += fmt::format("| {}{} | {} | **{}** | {:.3e} | {} | {:.6f} | {:.6f} | {:.4g} | {:.4g} | {} |\n",
                         r.id, r.comparison.outputs.size() > 1 ? " / " + o.name : "", r.quant_mode,
                         name(r.status), o.plcc_drop, budget_str(r), o.plcc, o.srocc, o.rmse, o.max_abs,
                         r.comparison.samples);
    } else {
      std::string msg = r.message;
      std::replace(msg.begin(), msg.end(), '\n', ' ');
      std::replace(msg.begin(), msg.end(), '|', '/');
      s += fmt::format("| {} | {} | {} | {} | | | | | | |\n", r.id, r.quant_mode, name(r.status), msg);
    }
  }
  for (const auto& r : rep.results) {
    if (r.interval.confidence > 0)
      s += fmt::format(
          "\n{}: PLCC drop {:g} % interval [{:.3e}, {:.3e}] (bootstrap, {} resamples, seed {}); "
          "gated on its upper end\n",
          r.id, 100 * r.interval.confidence, r.interval.low, r.interval.high, r.interval.resamples,
          r.interval.seed);
    for (const auto& l : r.clipping) s += fmt::format("\n- warning: {}: {}\n", r.id, quant::clipping_line(l));
  }
  for (const auto& r : rep.results) {
    if (!r.plot.empty()) s += fmt::format("\n![{} fp32 vs int8]({})\n", r.id, r.plot);
    if (!r.frame_plot.empty())
      s += fmt::format("\n![{} first sample: fp32, int8, difference]({})\n", r.id, r.frame_plot);
  }
  return s;
}

}  // namespace tinyqat::handoff
