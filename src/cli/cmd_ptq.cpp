#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/handoff_options.h"
#include "cli/options.h"
#include "core/error.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "quant/ptq.h"

namespace tinyqat::cli {

namespace {

// What the calibration set covered, and warnings when it looks too thin for data it has not seen.
void print_coverage(const quant::PtqReport& rep) {
  const auto& c = rep.coverage;
  std::fprintf(stderr, "calibration coverage: %lld samples\n", static_cast<long long>(rep.samples));
  for (const auto& in : c.inputs)
    std::fprintf(stderr, "  input %s: min %.6g, max %.6g\n", in.name.c_str(), in.min, in.max);
  if (rep.samples < quant::kMinCalibrationSamples)
    std::fprintf(stderr,
                 "warning: only %lld calibration samples (fewer than %lld): ranges of values the set did not "
                 "reach will clip\n",
                 static_cast<long long>(rep.samples), static_cast<long long>(quant::kMinCalibrationSamples));
  if (!c.growing.empty()) {
    const auto& g = c.growing.front();
    std::fprintf(stderr,
                 "warning: the observed range was still growing over the last %lld of %lld calibration "
                 "samples: %zu tensor(s) widened by more than %.0f %%, most %s ([%.4g, %.4g] -> [%.4g, "
                 "%.4g], +%.0f %%); more (or shuffled) calibration data, or --range-margin\n",
                 static_cast<long long>(rep.samples - c.early_samples), static_cast<long long>(rep.samples),
                 c.growing.size(), 100 * quant::kGrowthWarn, g.tensor.c_str(), g.early_lo, g.early_hi, g.lo,
                 g.hi, 100 * g.growth);
  }
}

}  // namespace

std::function<int()> add_ptq(CLI::App& app) {
  auto* sub = app.add_subcommand(kPtqCommand.name, kPtqCommand.description);
  struct Opts {
    std::string model, out, mode = "static", calibration, preset = "default", method, activations;
    int64_t samples = -1;
    double percentile = quant::QConfig{}.percentile;
    std::vector<std::string> exclude;
    bool quantize_outputs = false;
    double range_margin = 0;
    std::string bias_correction;
  };
  auto o = std::make_shared<Opts>();
  const quant::QConfig seed = quant::preset("seed");
  sub->add_option("model", o->model, "fp32 ONNX model")->required();
  sub->add_option("--output,-o", o->out, "Quantized ONNX file to write (e.g. MODEL.int8.onnx)")->required();
  sub->add_option("--mode", o->mode, "dynamic or static")
      ->check(CLI::IsMember({"dynamic", "static"}))
      ->capture_default_str();
  auto* calibration = sub->add_option(
      "--calibration", o->calibration,
      "CALIB.npz: one array per model input, samples stacked on axis 0 (static only); FILE.npy or "
      "NAME=FILE.npy for a single-input model");
  auto* preset =
      sub->add_option("--preset", o->preset,
                      fmt::format("Static: default (the measured best: {} activations, {}) or seed "
                                  "(the seed's: {} activations, {}); --method / --activations "
                                  "override it",
                                  quant::name(quant::kDefaultActivations), quant::name(quant::kDefaultMethod),
                                  quant::name(seed.activations), quant::name(seed.method)))
          ->check(CLI::IsMember({"default", "seed"}))
          ->capture_default_str();
  auto* method =
      sub->add_option("--method", o->method,
                      fmt::format("Static calibration: minmax, percentile, entropy or mse (default: "
                                  "the preset's, {})",
                                  quant::name(quant::kDefaultMethod)))
          ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  auto* percentile = sub->add_option("--percentile", o->percentile, "Percentile for --method percentile")
                         ->check(CLI::Range(50.0, 100.0))
                         ->capture_default_str();
  auto* activations =
      sub->add_option(
             "--activations", o->activations,
             fmt::format("Static: asymmetric (uint8) or symmetric (int8, zero point 0) (default: the "
                         "preset's, {})",
                         quant::name(quant::kDefaultActivations)))
          ->check(CLI::IsMember({"symmetric", "asymmetric"}));
  auto* samples =
      sub->add_option("--samples", o->samples, "Static: use at most N calibration samples (default: all)")
          ->check(CLI::Range(int64_t(1), INT64_MAX));
  sub->add_option("--exclude", o->exclude, "Node names to keep in fp32");
  auto* quantize_outputs = sub->add_flag(
      "--quantize-outputs", o->quantize_outputs,
      "Static: also re-quantize graph outputs computed by a weighted unit or residual Add (default: "
      "they stay float, so no calibrated range clips a score)");
  auto* range_margin =
      sub->add_option(
             "--range-margin", o->range_margin,
             "Static: widen every calibrated range by this fraction, [lo, hi] -> [(1+X)lo, (1+X)hi], "
             "headroom for values the calibration set did not reach (docs/quantization.md)")
          ->check(CLI::Range(0.0, 10.0))
          ->capture_default_str();
  auto* bias_correction =
      sub->add_option("--bias-correction", o->bias_correction,
                      fmt::format("Static: on adds to each unit's bias the per-channel mean shift "
                                  "quantization causes on the calibration set, unit by unit "
                                  "(docs/quantization.md; default: the preset's, {})",
                                  quant::QConfig{}.bias_correction ? "on" : "off"))
          ->check(CLI::IsMember({"on", "off"}));
  auto handoff = add_handoff_options(sub);
  return [o, handoff, calibration, preset, method, percentile, activations, samples, quantize_outputs,
          range_margin, bias_correction] {
    if (o->mode == "dynamic")
      refuse_unused({calibration, preset, method, percentile, activations, samples, quantize_outputs,
                     range_margin, bias_correction},
                    "with --mode dynamic (it measures activations at run time: no calibration)");
    else
      TQ_CHECK(!o->calibration.empty(), "--mode static needs --calibration CALIB.npz");
    quant::QConfig cfg = quant::preset(o->preset);
    if (!o->activations.empty()) cfg.activations = quant::parse_act_scheme(o->activations);
    if (!o->method.empty()) cfg.method = quant::parse_method(o->method);
    if (cfg.method != quant::CalibMethod::Percentile)
      refuse_unused({percentile},
                    fmt::format("with --method {} (only with percentile)", quant::name(cfg.method)));
    cfg.percentile = o->percentile;
    cfg.max_samples = o->samples;
    cfg.exclude.insert(o->exclude.begin(), o->exclude.end());
    cfg.quantize_outputs = o->quantize_outputs;
    cfg.range_margin = o->range_margin;
    if (!o->bias_correction.empty()) cfg.bias_correction = o->bias_correction == "on";
    precheck_handoff(*handoff);
    Model m = import_onnx(o->model);
    for (const auto& e : o->exclude)
      TQ_CHECK(m.graph.has_node(e), "--exclude '{}': {} has no node of that name", e, o->model);
    quant::PtqReport rep;
    Model q;
    if (o->mode == "dynamic") {
      q = quant::ptq_dynamic(m, cfg, &rep);
    } else {
      NamedTensors calib =
          read_model_data({o->calibration}, names_of(m.graph.inputs), "--calibration").inputs;
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
    if (o->mode == "static") print_coverage(rep);
    if (!rep.folded_batchnorms.empty())
      std::fprintf(stderr, "folded %zu BatchNormalization into the Conv/Gemm before them\n",
                   rep.folded_batchnorms.size());
    if (!rep.bias_corrections.empty()) {
      const auto most =
          std::max_element(rep.bias_corrections.begin(), rep.bias_corrections.end(),
                           [](const auto& a, const auto& b) { return a.max_shift < b.max_shift; });
      std::fprintf(stderr, "bias correction: %zu units, largest shift %.4g (%s, biases up to %.4g)\n",
                   rep.bias_corrections.size(), most->max_shift, most->node.c_str(), most->max_bias);
    }
    for (const auto& [node, why] : rep.kept_fp32)
      std::fprintf(stderr, "  kept fp32: %s (%s)\n", node.c_str(), why.c_str());
    for (const auto& out : rep.float_outputs)
      std::fprintf(stderr, "  float output: %s (not re-quantized; --quantize-outputs to change)\n",
                   out.c_str());
    run_handoff(*handoff, o->model, o->out, o->mode, o->calibration);
    return 0;
  };
}

}  // namespace tinyqat::cli
