// tinyqat quantize: the ladder dynamic → static → mixed → QAT, each rung measured (drop, latency, size),
// keeping the rung the objective picks within the budget (handoff::quantize_model). This file only reads
// options, prints the table (text, JSON, Markdown) and, in a build with the trainer, plugs in the
// trainer's QAT rung.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/handoff_options.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/file_util.h"
#include "handoff/quantize.h"
#ifdef TINYQAT_HAVE_TRAIN
#include "train/trainer.h"
#endif

namespace tinyqat::cli {

std::function<int()> add_quantize(CLI::App& app) {
  auto* sub = app.add_subcommand(kQuantizeCommand.name, kQuantizeCommand.description);
  struct Opts {
    std::string model, out, data, calibration, preset = "default", method, activations, bias_correction;
    std::string objective = "latency", json_out, md_out;
    double budget = -1;
    int threads = 1;
    int64_t samples = -1;
    std::vector<std::string> exclude;
    int qat_epochs = 10;
    int latency_iterations = quant::kLatencyIterations;
    bool no_qat = false, no_mixed = false, json = false, markdown = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "fp32 ONNX model")->required();
  sub->add_option("--budget", o->budget, "Largest PLCC drop allowed (1 − PLCC(fp32, int8), worst output)")
      ->required()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--data", o->data,
                  "EVAL.npz: evaluation data, one array per model input (FILE.npy or NAME=FILE.npy for a "
                  "single-input model)")
      ->required();
  sub->add_option("--calibration", o->calibration,
                  "CALIB.npz for the static and QAT rungs (without it both are skipped)");
  auto* preset =
      sub->add_option("--preset", o->preset,
                      "Static rung: default or seed (as in `tinyqat ptq`); --method / --activations "
                      "override it")
          ->check(CLI::IsMember({"default", "seed"}))
          ->capture_default_str();
  auto* method = sub->add_option("--method", o->method,
                                 fmt::format("Static rung: minmax, percentile, entropy or mse (default: the "
                                             "preset's, {})",
                                             quant::name(quant::kDefaultMethod)))
                     ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  auto* activations =
      sub->add_option("--activations", o->activations,
                      fmt::format("Static rung: asymmetric or symmetric (default: the preset's, {})",
                                  quant::name(quant::kDefaultActivations)))
          ->check(CLI::IsMember({"symmetric", "asymmetric"}));
  auto* bias_correction =
      sub->add_option("--bias-correction", o->bias_correction,
                      fmt::format("Static and mixed rungs: on or off, as in `tinyqat ptq` (default: the "
                                  "preset's, {})",
                                  quant::QConfig{}.bias_correction ? "on" : "off"))
          ->check(CLI::IsMember({"on", "off"}));
  auto* samples =
      sub->add_option("--samples", o->samples, "Static rung: at most N calibration samples (default: all)")
          ->check(CLI::Range(int64_t(1), INT64_MAX));
  auto* epochs = sub->add_option("--qat-epochs", o->qat_epochs,
                                 "Epochs of the QAT rung (distillation on the --calibration inputs)")
                     ->check(CLI::Range(1, 10000))
                     ->capture_default_str();
  sub->add_flag("--no-qat", o->no_qat, "Skip the QAT rung");
  auto* no_mixed = sub->add_flag(
      "--no-mixed", o->no_mixed,
      "Skip the mixed rung (static PTQ with the k most sensitive units kept in float, k the smallest that "
      "meets the budget)");
  sub->add_option("--objective", o->objective,
                  "Which rung within the budget to keep: latency (the fastest in our runtime), accuracy (the "
                  "smallest drop), size (the smallest file) or effort (the first in ladder order); a rung "
                  "slower than fp32 is never kept when one that is not also meets the budget")
      ->check(CLI::IsMember({"latency", "accuracy", "size", "effort"}))
      ->capture_default_str();
  sub->add_option("--latency-iterations", o->latency_iterations,
                  "Timed runs per rung (and fp32) on the first --data sample, as `tinyqat bench`; 0 measures "
                  "no latency (the rungs then count as equally fast)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print the ladder's table as JSON");
  sub->add_flag("--markdown", o->markdown, "Print the ladder's table as Markdown");
  sub->add_option("--json-out", o->json_out, "Also write the JSON table to this file");
  sub->add_option("--markdown-out", o->md_out, "Also write the Markdown table to this file");
  sub->add_option("--exclude", o->exclude, "Node names to keep in fp32 (every rung)");
  sub->add_option("--output,-o", o->out, "int8 model to write (default: MODEL.int8.onnx beside MODEL.onnx)");
  sub->add_option("--threads", o->threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  auto handoff = add_handoff_options(sub, /*measured=*/false);
  return [o, handoff, preset, method, activations, bias_correction, samples, epochs, no_mixed] {
    TQ_CHECK(!(o->json && o->markdown), "quantize: --json and --markdown exclude each other");
    if (o->calibration.empty())
      refuse_unused({preset, method, activations, bias_correction, samples, epochs, no_mixed},
                    "without --calibration (the static, mixed and QAT rungs calibrate on it)");
    if (o->no_qat) refuse_unused({epochs}, "with --no-qat");
#ifndef TINYQAT_HAVE_TRAIN
    refuse_unused({epochs}, "in this build: it has no trainer (TINYQAT_BUILD_TRAIN=OFF), no QAT rung");
#endif
    handoff::QuantizeJob job;
    job.model = o->model;
    job.data = o->data;
    job.calibration = o->calibration;
    job.output = o->out;
    job.registry = handoff->registry;
    job.id = handoff->id;
    job.kind = handoff->kind;
    job.license = handoff->license;
    quant::LadderOptions& lo = job.ladder;
    lo.budget = o->budget;
    lo.threads = o->threads;
    lo.objective = quant::parse_objective(o->objective);
    lo.mixed = !o->no_mixed;
    lo.latency_iterations = o->latency_iterations;
    lo.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    lo.static_config = quant::preset(o->preset);
    if (!o->method.empty()) lo.static_config.method = quant::parse_method(o->method);
    if (!o->activations.empty()) lo.static_config.activations = quant::parse_act_scheme(o->activations);
    if (!o->bias_correction.empty()) lo.static_config.bias_correction = o->bias_correction == "on";
    lo.static_config.max_samples = o->samples;
    lo.static_config.exclude.insert(o->exclude.begin(), o->exclude.end());
    if (o->no_qat) {
      lo.qat_unavailable = "skipped (--no-qat)";
    } else {
#ifdef TINYQAT_HAVE_TRAIN
      quant::QatRung rung =
          train::ladder_qat_rung(o->qat_epochs, o->threads, lo.static_config.exclude, /*progress=*/true);
      rung.run = [run = rung.run, o](const Model& fp32, const NamedTensors& calibration) {
        std::fprintf(stderr, "qat rung: distillation QAT, %d epochs on %s...\n", o->qat_epochs,
                     o->calibration.c_str());
        return run(fp32, calibration);
      };
      lo.qat = rung;
#endif
    }
    handoff::QuantizeOutcome res = handoff::quantize_model(job);
    if (!o->json_out.empty())
      write_file_atomic(o->json_out, quant::ladder_json(res.ladder, o->budget) + "\n");
    if (!o->md_out.empty()) write_file_atomic(o->md_out, quant::ladder_markdown(res.ladder, o->budget));
    if (o->json) {
      std::printf("%s\n", quant::ladder_json(res.ladder, o->budget).c_str());
    } else if (o->markdown) {
      std::fputs(quant::ladder_markdown(res.ladder, o->budget).c_str(), stdout);
    } else {
      std::printf("%s: ladder against the budget %.6g on %s\n", o->model.c_str(), o->budget, o->data.c_str());
      std::fputs(quant::ladder_text(res.ladder, o->budget).c_str(), stdout);
    }
    // With --json / --markdown stdout holds the table alone; what was written goes to stderr.
    std::FILE* notes = o->json || o->markdown ? stderr : stdout;
    if (!res.written.empty())
      std::fprintf(notes, "wrote %s (%s)\n", res.written.c_str(), res.ladder.chosen.c_str());
    if (res.registered) std::fputs(res.registered->summary.c_str(), notes);
    return res.ladder.chosen.empty() ? 1 : 0;
  };
}

}  // namespace tinyqat::cli
