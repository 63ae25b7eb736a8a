// tinyqat measure: the accuracy gate over a registry (exit 0 all pass, 1 any over budget, 2 any error).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_util.h"
#include "handoff/gate.h"
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
  auto* sub = app.add_subcommand(kMeasureCommand.name, kMeasureCommand.description);
  struct Opts {
    std::vector<std::string> targets, data;
    std::string registry, plots, json_out, md_out;
    bool all = false, json = false, markdown = false, record = false;
    int threads = 1;
    double clip_warn = handoff::GateOptions{}.clip_warn, confidence = 0;
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
  sub->add_option("--threads", o->threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  sub->add_flag("--record", o->record, "Record each measured drop (and when) in the model's sidecar");
  sub->add_flag("--json", o->json, "Print the report as JSON");
  sub->add_flag("--markdown", o->markdown, "Print the report as Markdown");
  sub->add_option("--json-out", o->json_out, "Also write the JSON report to this file");
  sub->add_option("--markdown-out", o->md_out, "Also write the Markdown report to this file");
  sub->add_option("--plots", o->plots,
                  "Write per model DIR/<id>.scatter.png (fp32 vs int8 and the residual plot) and, for image "
                  "outputs, DIR/<id>.frame.png (fp32, int8, difference on the first sample)");
  sub->add_option("--clip-warn", o->clip_warn,
                  "Warn about each quantized tensor whose fp32 values fall outside its calibrated range more "
                  "often than this share (1 = never)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--confidence", o->confidence,
                  fmt::format("Bootstrap the PLCC drop ({} resamples of the samples, fixed seed), print this "
                              "interval (e.g. 0.95) and PASS only when its upper end is within the budget "
                              "(default: the point estimate gates)",
                              quant::kBootstrapResamples))
      ->check(CLI::Range(0.5, 0.9999));
  return [o] {
    TQ_CHECK(o->all != !o->targets.empty(), "measure: give model ids / files, or --all");
    TQ_CHECK(!(o->json && o->markdown), "measure: --json and --markdown exclude each other");
    registry::Registry r = registry::load_registry(o->registry);
    handoff::GateOptions g;
    g.threads = o->threads;
    g.record = o->record;
    g.plots_dir = o->plots;
    g.clip_warn = o->clip_warn;
    g.confidence = o->confidence;
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
    if (!o->all)
      for (const auto& [id, file] : g.data_for)
        TQ_CHECK(std::find(ids.begin(), ids.end(), id) != ids.end(),
                 "--data {}={}: not used: '{}' is not among the models measured", id, file, id);
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
