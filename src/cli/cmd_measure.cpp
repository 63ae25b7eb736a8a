// tinyqat measure: the accuracy gate over a registry (exit 0 all pass, 1 any over budget, 2 any error).
// tinyqat quantize: the ladder dynamic → static → (QAT), keeping the cheapest rung within the budget.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/model_paths.h"
#include "handoff/gate.h"
#include "handoff/handoff.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "quant/ladder.h"
#ifdef TINYQAT_HAVE_TRAIN
#include "train/trainer.h"
#endif
#include "core/sha256.h"
#include "registry/registry.h"

namespace tinyqat::cli {

namespace fs = std::filesystem;

namespace {

// ID, or a model file of the registry (its fp32 or int8 file) → the entry's id.
std::string target_id(const registry::Registry& r, const std::string& t) {
  if (t.size() < 5 || t.substr(t.size() - 5) != ".onnx") return r.at(t).id;
  std::error_code ec;
  const fs::path want = fs::weakly_canonical(t, ec);
  for (const auto& e : r.models)
    for (const fs::path& p : {r.onnx_path(e), r.int8_path(e)})
      if (fs::weakly_canonical(p, ec) == want) return e.id;
  fail("{}: {} is not a model file of this registry", r.path, t);
}

}  // namespace

std::function<int()> add_measure(CLI::App& app) {
  auto* sub =
      app.add_subcommand("measure",
                         "Accuracy gate: fp32 vs int8 for registry entries (PLCC, SROCC, RMSE, max |diff|, "
                         "PASS/FAIL against the budget); exit 0 all pass, 1 any over budget, 2 any error");
  struct Opts {
    std::vector<std::string> targets, data;
    std::string registry, plots, json_out, md_out;
    bool all = false, json = false, markdown = false, record = false;
    int threads = 1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("targets", o->targets, "Model ids or model files of the registry");
  sub->add_flag("--all", o->all, "Every entry of the registry");
  sub->add_option("--registry", o->registry, "registry.json")->required();
  sub->add_option(
         "--data", o->data,
         "EVAL.npz (one array per model input, samples on axis 0) for every model, or ID=EVAL.npz for one; "
         "repeatable")
      ->required();
  sub->add_option("--threads", o->threads, "Worker threads")->check(CLI::Range(1, 256));
  sub->add_flag("--record", o->record, "Record each measured drop (and when) in the model's sidecar");
  sub->add_flag("--json", o->json, "Print the report as JSON");
  sub->add_flag("--markdown", o->markdown, "Print the report as Markdown");
  sub->add_option("--json-out", o->json_out, "Also write the JSON report to this file");
  sub->add_option("--markdown-out", o->md_out, "Also write the Markdown report to this file");
  sub->add_option("--plots", o->plots, "Write a fp32-vs-int8 scatter plot per model: DIR/<id>.scatter.png");
  return [o] {
    TQ_CHECK(o->all != !o->targets.empty(), "measure: give model ids / files, or --all");
    TQ_CHECK(!(o->json && o->markdown), "measure: --json and --markdown exclude each other");
    registry::Registry r = registry::load_registry(o->registry);
    handoff::GateOptions g;
    g.threads = o->threads;
    g.record = o->record;
    g.plots_dir = o->plots;
    for (const auto& d : o->data) {
      auto eq = d.find('=');
      if (eq == std::string::npos) {
        TQ_CHECK(g.data.empty(), "--data: two files for every model ({} and {}); use ID=EVAL.npz", g.data, d);
        g.data = d;
      } else {
        (void)r.at(d.substr(0, eq));
        g.data_for[d.substr(0, eq)] = d.substr(eq + 1);
      }
    }
    std::vector<std::string> ids;
    for (const auto& t : o->targets) ids.push_back(target_id(r, t));
    handoff::GateReport rep = handoff::run_gate(r, ids, g);
    std::string out = o->json       ? handoff::gate_json(rep) + "\n"
                      : o->markdown ? handoff::gate_markdown(rep)
                                    : handoff::gate_text(rep);
    std::fputs(out.c_str(), stdout);
    if (!o->json_out.empty()) write_file_atomic(o->json_out, handoff::gate_json(rep) + "\n");
    if (!o->md_out.empty()) write_file_atomic(o->md_out, handoff::gate_markdown(rep));
    for (const auto& res : rep.results)
      if (res.status == handoff::GateStatus::Error)
        std::fprintf(stderr, "tinyqat: error: %s: %s\n", res.id.c_str(), res.message.c_str());
    return rep.exit_code();
  };
}

}  // namespace tinyqat::cli

namespace tinyqat::cli {

std::function<int()> add_quantize(CLI::App& app) {
  auto* sub = app.add_subcommand("quantize",
                                 "Quantization ladder: dynamic → static → QAT, keeps the cheapest rung "
                                 "within the PLCC budget (exit 0 kept "
                                 "one, 1 none fits: the model stays fp32, 2 error)");
  struct Opts {
    std::string model, out, data, calibration, method = "mse", activations = "asymmetric", registry, id, kind,
                                               license;
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
  auto* reg = sub->add_option("--register", o->registry, "Register the outcome in this registry.json");
  auto* id = sub->add_option("--id", o->id, "Registry id for --register");
  reg->needs(id);
  id->needs(reg);
  sub->add_option("--kind", o->kind, "Registry kind: fr, nr or filter (default: from the shapes)")
      ->check(CLI::IsMember({"fr", "nr", "filter"}));
  sub->add_option("--license", o->license, "SPDX licence for the registry entry");
  return [o] {
    Model m = import_onnx(o->model);
    NamedTensors eval = read_model_data({o->data}, names_of(m.graph.inputs), "--data").inputs;
    NamedTensors calib;
    if (!o->calibration.empty())
      calib = read_model_data({o->calibration}, names_of(m.graph.inputs), "--calibration").inputs;
    quant::LadderOptions lo;
    lo.budget = o->budget;
    lo.threads = o->threads;
    lo.static_config.method = quant::parse_method(o->method);
    lo.static_config.activations = quant::parse_act_scheme(o->activations);
    lo.static_config.max_samples = o->samples;
    lo.static_config.exclude.insert(o->exclude.begin(), o->exclude.end());
    for (const auto& e : o->exclude)
      TQ_CHECK(m.graph.has_node(e), "--exclude '{}': {} has no node of that name", e, o->model);
#ifdef TINYQAT_HAVE_TRAIN
    if (o->no_qat) {
      lo.qat_unavailable = "skipped (--no-qat)";
    } else if (calib.empty() || m.graph.inputs.size() != 1) {
      lo.qat_unavailable = calib.empty() ? "skipped: no --calibration CALIB.npz (the QAT rung distills on it)"
                                         : "skipped: the trainer takes single-input models";
    } else {
      lo.qat = [&](const Model& fp32) {
        train::TrainConfig c = train::distill_recipe(m.graph.inputs[0].name);
        c.qat.epochs_qat = o->qat_epochs;
        c.threads = o->threads;
        train::RunOptions r;
        r.quiet = true;
        r.start = &fp32;
        r.data = &calib;
        std::fprintf(stderr, "qat rung: distillation QAT, %d epochs on %s...\n", o->qat_epochs,
                     o->calibration.c_str());
        return train::qat_models(c, r).int8;
      };
    }
#else
    if (o->no_qat) lo.qat_unavailable = "skipped (--no-qat)";
#endif
    quant::LadderResult res = quant::run_ladder(m, eval, calib, lo);
    std::printf("%s: ladder against the budget %.6g on %s\n", o->model.c_str(), o->budget, o->data.c_str());
    std::fputs(quant::ladder_text(res, o->budget).c_str(), stdout);
    const std::string out = o->out.empty() ? int8_twin(o->model) : o->out;
    if (!res.chosen.empty()) {
      check_onnx(res.int8);
      export_onnx(res.int8, out);
      std::printf("wrote %s (%s)\n", out.c_str(), res.chosen.c_str());
    }
    if (!o->registry.empty()) {
      handoff::Artifact a;
      a.registry = o->registry;
      a.id = o->id;
      a.fp32 = o->model;
      a.kind = o->kind;
      a.threads = o->threads;
      if (!o->license.empty()) a.license = o->license;
      a.budget = o->budget;
      if (res.chosen.empty()) {
        a.quant_mode = "fp32";  // over budget on every rung: stays fp32
        a.notes = "tinyqat quantize: no rung within the budget; kept fp32";
      } else {
        a.quant_mode = res.chosen;
        a.int8 = out;
        if (res.chosen != "dynamic" && !o->calibration.empty()) a.calibration_set = o->calibration;
        registry::Measurement me;
        me.drop_plcc = res.drop;
        me.samples = res.samples;
        me.data = fmt::format("{} (sha256 {})", fs::path(o->data).filename().string(), sha256_file(o->data));
        a.measurement = me;
      }
      std::fputs(handoff::register_artifact(a).summary.c_str(), stdout);
    }
    return res.chosen.empty() ? 1 : 0;
  };
}

}  // namespace tinyqat::cli
