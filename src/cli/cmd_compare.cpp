#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/json_dump.h"
#include "handoff/plots.h"
#include "io/model_data.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"
#include "quant/plan.h"
#include "quant/ptq.h"
#include "quant/sensitivity.h"

namespace tinyqat::cli {

namespace {

// compare --plot: the tensors the int8 graph quantizes (pre-activation copies left out: they change
// nothing), by producing node; the three lowest SQNR marked with the ptq flag that keeps that unit fp32.
// The --exclude argument for a tensor comes from the static plan (quant::plan_static, the one unit
// selector): a unit's output — after its fused Relu/Clip — is excluded through the unit's own node.
void write_sqnr_chart(const std::string& path, const quant::Comparison& c, const Model& fp32,
                      const Model& quantized, const std::string& model) {
  bool known = false;
  quant::PtqReport rep;
  const quant::QuantPlan plan = quant::plan_static(fp32.graph, quant::qconfig_of(quantized, &known), &rep);
  std::map<std::string, std::string> unit_of;  // unit output → its Conv/Gemm/MatMul node
  for (const auto& u : plan.units) unit_of[u.output] = fp32.graph.nodes[u.node].name;
  std::vector<handoff::SqnrBar> bars;
  std::vector<std::string> exclude;
  for (const auto& l : c.layers) {
    if (!l.pre_activation_of.empty()) continue;
    handoff::SqnrBar b;
    b.label = l.node.empty() ? "input " + l.tensor : l.node;
    b.sqnr_db = l.sqnr_db;
    bars.push_back(b);
    const auto u = unit_of.find(l.tensor);
    exclude.push_back(u != unit_of.end() ? u->second : l.node);
  }
  TQ_CHECK(!bars.empty(), "--plot: {} has no quantized tensor to chart", model);
  std::vector<size_t> order(bars.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bars[a].sqnr_db < bars[b].sqnr_db; });
  for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k) {
    handoff::SqnrBar& b = bars[order[k]];
    b.marked = true;
    if (!exclude[order[k]].empty()) b.note = "--exclude " + exclude[order[k]];
  }
#ifdef TINYQAT_CLI_TOOLS
  handoff::write_sqnr_png(path, bars,
                          fmt::format("{}: SQNR per quantized tensor against the fp32 graph ({} samples)",
                                      std::filesystem::path(model).filename().string(), c.samples));
#else
  // tinyqat hands a command line with --plot to tinyqat-train (kToolOptions), so that the runtime
  // executable does not load OpenCV.
  fail("{}: --plot runs in tinyqat-train", path);
#endif
}

}  // namespace

std::function<int()> add_compare(CLI::App& app) {
  auto* sub =
      app.add_subcommand("compare", "Measure a quantized model against its fp32 original on evaluation data");
  struct Opts {
    std::string fp32, quantized, data, target, calibration, plot;
    bool json = false, per_layer = false, sensitivity = false;
    int threads = 1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("fp32", o->fp32, "fp32 ONNX model")->required();
  sub->add_option("quantized", o->quantized, "quantized ONNX model")->required();
  sub->add_option("--data", o->data,
                  "EVAL.npz: one array per model input, samples on axis 0, other arrays kept for --target; "
                  "FILE.npy or NAME=FILE.npy for a single-input model")
      ->required();
  sub->add_option("--target", o->target,
                  "Array in EVAL.npz to compare both models against (labels, clean images)");
  sub->add_flag("--per-layer", o->per_layer,
                "SQNR and error of every quantized tensor against the fp32 graph");
  sub->add_flag(
      "--sensitivity", o->sensitivity,
      "Per unit (Conv/Gemm/MatMul node): the PLCC drop with only that unit quantized and with all but that "
      "one (ptq --exclude NODE), re-running static PTQ on --calibration with the quantized model's "
      "configuration; most sensitive first");
  auto* calibration = sub->add_option("--calibration", o->calibration,
                                      "CALIB.npz the quantized model was calibrated on (with --sensitivity)");
  auto* plot =
      sub->add_option("--plot", o->plot,
                      "With --per-layer: also draw OUT.png, SQNR per quantized tensor by its node in "
                      "graph order, the three lowest marked with the --exclude that keeps them in fp32");
  sub->add_flag("--json", o->json, "Print JSON");
  sub->add_option("--threads", o->threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return [o, calibration, plot] {
    if (!o->sensitivity) refuse_unused({calibration}, "without --sensitivity");
    if (!o->per_layer) refuse_unused({plot}, "without --per-layer");
    if (o->sensitivity) TQ_CHECK(!o->calibration.empty(), "--sensitivity needs --calibration CALIB.npz");
    Model a = import_onnx(o->fp32), b = import_onnx(o->quantized);
    NamedTensors data =
        read_model_data({o->data}, names_of(a.graph.inputs), "--data", true, /*read_others=*/true).all();
    quant::Comparison c;
    try {
      c = quant::compare_models(a, b, data, {o->per_layer, o->target, o->threads});
    } catch (const Error& e) {
      fail("{}: {}", o->data, e.what());
    }
    std::string s = o->json ? quant::comparison_json(c) + "\n" : quant::comparison_text(c);
    if (!o->plot.empty()) write_sqnr_chart(o->plot, c, a, b, o->quantized);
    if (o->sensitivity) {
      const std::string form = summarize(b).quantization;
      TQ_CHECK(form == "qdq",
               "--sensitivity: {} is not a QDQ (static PTQ / QAT) model but {}; the sensitivity view "
               "re-runs static PTQ",
               o->quantized, form);
      bool known = false;
      quant::QConfig cfg = quant::qconfig_of(b, &known);
      if (!known)
        std::fprintf(stderr, "%s: no tinyqat.qconfig metadata; sensitivity uses ptq's defaults\n",
                     o->quantized.c_str());
      NamedTensors calib =
          read_model_data({o->calibration}, names_of(a.graph.inputs), "--calibration").inputs;
      quant::Sensitivity sens;
      try {
        sens = quant::sensitivity(a, calib, data, cfg, o->threads, [](int done, int total) {
          std::fprintf(stderr, "\rsensitivity: %d/%d variants measured", done, total);
          if (done == total) std::fprintf(stderr, "\n");
        });
      } catch (const Error& e) {
        fail("{}: {}", o->calibration, e.what());
      }
      if (o->json) {
        auto j = nlohmann::ordered_json::parse(s);
        j["sensitivity"] = nlohmann::ordered_json::parse(quant::sensitivity_json(sens));
        s = json_dump(j, 2) + "\n";
      } else {
        s += quant::sensitivity_text(sens);
      }
    }
    std::fputs(s.c_str(), stdout);
    return 0;
  };
}

}  // namespace tinyqat::cli
