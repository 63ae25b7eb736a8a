#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/data_files.h"
#include "core/error.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "quant/ptq.h"
#include "registry/handoff_cli.h"

namespace tinyqat::cli {

std::function<int()> add_ptq(CLI::App& app) {
  auto* sub =
      app.add_subcommand("ptq", "Post-training quantization: dynamic, or static with a calibration set");
  struct Opts {
    std::string model, out, mode = "static", calibration, method = "minmax", activations = "asymmetric";
    int64_t samples = -1;
    double percentile = 99.999;
    std::vector<std::string> exclude;
    bool quantize_outputs = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "fp32 ONNX model")->required();
  sub->add_option("--output,-o", o->out, "Quantized ONNX file to write (e.g. MODEL.int8.onnx)")->required();
  sub->add_option("--mode", o->mode, "dynamic or static")->check(CLI::IsMember({"dynamic", "static"}));
  sub->add_option("--calibration", o->calibration,
                  "CALIB.npz: one array per model input, samples stacked on axis 0 (static only); a .npy for "
                  "single-input models");
  sub->add_option("--method", o->method, "Calibration: minmax, percentile, entropy or mse")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  sub->add_option("--percentile", o->percentile, "Percentile for --method percentile")
      ->check(CLI::Range(50.0, 100.0));
  sub->add_option("--activations", o->activations,
                  "asymmetric (uint8, the default: measured better) or symmetric (int8, zero point 0)")
      ->check(CLI::IsMember({"symmetric", "asymmetric"}));
  sub->add_option("--samples", o->samples, "Use at most N calibration samples")
      ->check(CLI::Range(int64_t(1), INT64_MAX));
  sub->add_option("--exclude", o->exclude, "Node names to keep in fp32");
  sub->add_flag(
      "--quantize-outputs", o->quantize_outputs,
      "Static: also re-quantize graph outputs computed by a weighted unit or residual Add (default: "
      "they stay float, so no calibrated range clips a score)");
  auto handoff = registry::add_handoff_options(sub);
  return [o, handoff] {
    quant::QConfig cfg;
    cfg.activations = quant::parse_act_scheme(o->activations);
    cfg.method = quant::parse_method(o->method);
    cfg.percentile = o->percentile;
    cfg.max_samples = o->samples;
    cfg.exclude.insert(o->exclude.begin(), o->exclude.end());
    cfg.quantize_outputs = o->quantize_outputs;
    Model m = import_onnx(o->model);
    for (const auto& e : o->exclude)
      TQ_CHECK(m.graph.has_node(e), "--exclude '{}': {} has no node of that name", e, o->model);
    quant::PtqReport rep;
    Model q;
    if (o->mode == "dynamic") {
      TQ_CHECK(o->calibration.empty(),
               "--calibration is for --mode static (dynamic PTQ measures at run time)");
      TQ_CHECK(!o->quantize_outputs,
               "--quantize-outputs is for --mode static (dynamic PTQ writes float outputs)");
      q = quant::ptq_dynamic(m, cfg, &rep);
    } else {
      TQ_CHECK(!o->calibration.empty(), "--mode static needs --calibration CALIB.npz");
      NamedTensors calib = read_model_data(o->calibration, m, "--calibration");
      try {
        std::fprintf(stderr, "calibrating on %s (%s, %s activations)...\n", o->calibration.c_str(),
                     quant::name(cfg.method), quant::name(cfg.activations));
        q = quant::ptq_static(m, calib, cfg, &rep);
      } catch (const Error& e) {
        fail("{}: {}", o->calibration, e.what());
      }
    }
    check_onnx(q);
    export_onnx(q, o->out);
    std::fprintf(stderr, "%s: %s PTQ, %zu ops quantized", o->out.c_str(), o->mode.c_str(),
                 rep.quantized.size());
    if (o->mode == "static")
      std::fprintf(stderr, ", %lld calibration samples", static_cast<long long>(rep.samples));
    std::fprintf(stderr, "\n");
    for (const auto& [node, why] : rep.kept_fp32)
      std::fprintf(stderr, "  kept fp32: %s (%s)\n", node.c_str(), why.c_str());
    for (const auto& out : rep.float_outputs)
      std::fprintf(stderr, "  float output: %s (not re-quantized; --quantize-outputs to change)\n",
                   out.c_str());
    registry::run_handoff(*handoff, o->model, o->out, o->mode, o->calibration);
    return 0;
  };
}

}  // namespace tinyqat::cli
