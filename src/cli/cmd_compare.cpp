#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "io/model_data.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"
#include "quant/sensitivity.h"

namespace tinyqat::cli {

std::function<int()> add_compare(CLI::App& app) {
  auto* sub =
      app.add_subcommand("compare", "Measure a quantized model against its fp32 original on evaluation data");
  struct Opts {
    std::string fp32, quantized, data, target, calibration;
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
  sub->add_flag("--json", o->json, "Print JSON");
  sub->add_option("--threads", o->threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return [o, calibration] {
    if (!o->sensitivity) refuse_unused({calibration}, "without --sensitivity");
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
        s = j.dump(2) + "\n";
      } else {
        s += quant::sensitivity_text(sens);
      }
    }
    std::fputs(s.c_str(), stdout);
    return 0;
  };
}

}  // namespace tinyqat::cli
