// tinyqat quantize: the ladder dynamic → static → QAT, keeping the cheapest rung within the budget
// (handoff::quantize_model). This file only reads options and, in a build with the trainer, plugs in the
// trainer's QAT rung.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/handoff_options.h"
#include "core/error.h"
#include "handoff/quantize.h"
#ifdef TINYQAT_HAVE_TRAIN
#include "train/trainer.h"
#endif

namespace tinyqat::cli {

std::function<int()> add_quantize(CLI::App& app) {
  auto* sub = app.add_subcommand("quantize",
                                 "Quantization ladder: dynamic → static → QAT, keeps the cheapest rung "
                                 "within the PLCC budget (exit 0 kept "
                                 "one, 1 none fits: the model stays fp32, 2 error)");
  struct Opts {
    std::string model, out, data, calibration, method = "mse", activations = "asymmetric";
    double budget = -1;
    int threads = 1;
    int64_t samples = -1;
    std::vector<std::string> exclude;
    int qat_epochs = 10;
    bool no_qat = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "fp32 ONNX model")->required();
  sub->add_option("--qat-epochs", o->qat_epochs,
                  "Epochs of the QAT rung (distillation on the --calibration inputs; default 10)")
      ->check(CLI::Range(1, 10000));
  sub->add_flag("--no-qat", o->no_qat, "Stop after the static rung");
  sub->add_option("--budget", o->budget, "Largest PLCC drop allowed (1 − PLCC(fp32, int8), worst output)")
      ->required()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--data", o->data, "EVAL.npz: evaluation data, one array per model input")->required();
  sub->add_option("--calibration", o->calibration,
                  "CALIB.npz for the static rung (without it the rung is skipped)");
  sub->add_option("--method", o->method,
                  "Static calibration: minmax, percentile, entropy or mse (default mse)")
      ->check(CLI::IsMember({"minmax", "percentile", "entropy", "mse"}));
  sub->add_option("--activations", o->activations, "asymmetric (default) or symmetric")
      ->check(CLI::IsMember({"symmetric", "asymmetric"}));
  sub->add_option("--samples", o->samples, "Use at most N calibration samples")
      ->check(CLI::Range(int64_t(1), INT64_MAX));
  sub->add_option("--exclude", o->exclude, "Node names to keep in fp32");
  sub->add_option("--output,-o", o->out, "int8 model to write (default MODEL.int8.onnx)");
  sub->add_option("--threads", o->threads, "Worker threads")->check(CLI::Range(1, 256));
  auto handoff = add_handoff_options(sub, /*measured=*/false);
  return [o, handoff] {
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
    lo.static_config.method = quant::parse_method(o->method);
    lo.static_config.activations = quant::parse_act_scheme(o->activations);
    lo.static_config.max_samples = o->samples;
    lo.static_config.exclude.insert(o->exclude.begin(), o->exclude.end());
    if (o->no_qat) {
      lo.qat_unavailable = "skipped (--no-qat)";
    } else {
#ifdef TINYQAT_HAVE_TRAIN
      quant::QatRung rung = train::ladder_qat_rung(o->qat_epochs, o->threads);
      rung.run = [run = rung.run, o](const Model& fp32, const NamedTensors& calibration) {
        std::fprintf(stderr, "qat rung: distillation QAT, %d epochs on %s...\n", o->qat_epochs,
                     o->calibration.c_str());
        return run(fp32, calibration);
      };
      lo.qat = rung;
#endif
    }
    handoff::QuantizeOutcome res = handoff::quantize_model(job);
    std::printf("%s: ladder against the budget %.6g on %s\n", o->model.c_str(), o->budget, o->data.c_str());
    std::fputs(quant::ladder_text(res.ladder, o->budget).c_str(), stdout);
    if (!res.written.empty()) std::printf("wrote %s (%s)\n", res.written.c_str(), res.ladder.chosen.c_str());
    if (res.registered) std::fputs(res.registered->summary.c_str(), stdout);
    return res.ladder.chosen.empty() ? 1 : 0;
  };
}

}  // namespace tinyqat::cli
