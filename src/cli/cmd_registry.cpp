// tinyqat registry validate|add|set|show (docs/registry.md).
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/json_dump.h"
#include "handoff/handoff.h"
#include "registry/registry.h"
#include "registry/resolve.h"

namespace tinyqat::cli {

namespace {

namespace reg = tinyqat::registry;

int cmd_validate(const std::string& path, bool files, bool quiet_warnings) {
  std::vector<uint8_t> bytes = read_file(path);
  reg::Validation val = reg::validate_text(std::string(bytes.begin(), bytes.end()));
  std::vector<reg::Violation> file_errors;
  if (val.errors.empty() && files)
    file_errors = reg::check_files(reg::parse_registry(std::string(bytes.begin(), bytes.end()), path));
  if (!quiet_warnings)
    for (const auto& w : val.warnings)
      std::fprintf(stderr, "%s: warning: %s\n", path.c_str(), reg::format(w).c_str());
  const size_t n = val.errors.size() + file_errors.size();
  for (const auto& v : val.errors)
    std::fprintf(stderr, "%s: error: %s\n", path.c_str(), reg::format(v).c_str());
  for (const auto& v : file_errors)
    std::fprintf(stderr, "%s: error: %s\n", path.c_str(), reg::format(v).c_str());
  if (n > 0) {
    std::fprintf(stderr, "%s: INVALID (%zu problem%s)\n", path.c_str(), n, n == 1 ? "" : "s");
    return 2;
  }
  reg::Registry r = reg::parse_registry(std::string(bytes.begin(), bytes.end()), path);
  std::printf("%s: valid (%zu model%s, schema_version %lld%s)\n", path.c_str(), r.models.size(),
              r.models.size() == 1 ? "" : "s", static_cast<long long>(r.schema_version),
              files ? ", every file present and matching its sha256" : ", files not checked");
  return 0;
}

int cmd_show(const std::string& path, const std::string& id, bool json) {
  reg::Registry r = reg::load_registry(path);
  std::vector<const reg::Entry*> entries;
  if (id.empty())
    for (const auto& e : r.models) entries.push_back(&e);
  else
    entries.push_back(&r.at(id));
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const reg::Entry* e : entries) {
    std::string decision, reason, why;
    try {
      reg::Resolved res = reg::resolve(r, e->id, false);
      decision = reg::name(res.decision.variant);
      reason = reg::name(res.decision.reason);
      why = res.decision.text;
    } catch (const Error& err) {
      decision = "refused";
      reason = "refused";
      why = err.what();
    }
    std::optional<reg::Measurement> m;
    std::string m_err;
    try {
      m = reg::read_measurement(r, *e);
    } catch (const Error& err) {
      m_err = err.what();
    }
    if (json) {
      nlohmann::ordered_json j;
      j["id"] = e->id;
      j["kind"] = e->kind;
      j["onnx"] = r.onnx_path(*e).string();
      j["sha256"] = e->sha256;
      j["quant_mode"] = e->mode();
      if (e->quantized()) {
        j["int8"] = r.int8_path(*e).string();
        j["int8_sha256"] = e->int8_sha256.value_or("");
        j["budget_plcc"] = e->budget();
        j["budget_recorded"] = e->quant_accuracy_budget_plcc.has_value();
      }
      if (m) {
        j["measured_drop_plcc"] = m->drop_plcc;
        j["measured_at"] = m->measured_at;
        j["measured_int8_sha256"] = m->int8_sha256;
        j["measured_data"] = m->data;
      }
      j["runs"] = decision;
      j["reason"] = reason;
      j["text"] = why;
      out.push_back(j);
      continue;
    }
    std::printf("%s  (%s)\n", e->id.c_str(), e->kind.c_str());
    std::printf("  fp32:    %s  sha256 %s\n", r.onnx_path(*e).string().c_str(), e->sha256.c_str());
    std::printf("  mode:    %s\n", e->mode().c_str());
    if (e->quantized()) {
      std::printf("  int8:    %s  sha256 %s\n", r.int8_path(*e).string().c_str(),
                  e->int8_sha256.value_or("?").c_str());
      std::printf("  budget:  %.6g%s\n", e->budget(),
                  e->quant_accuracy_budget_plcc ? "" : " (default for the mode)");
      if (m)
        std::printf(
            "  drop:    %.6g measured %s on %s (%s)\n", m->drop_plcc, m->measured_at.c_str(), m->data.c_str(),
            m->int8_sha256 == e->int8_sha256.value_or("") ? "this int8 file" : "ANOTHER int8 file: stale");
      else if (!m_err.empty())
        std::printf("  drop:    unreadable: %s\n", m_err.c_str());
      else
        std::printf("  drop:    not measured\n");
    }
    if (e->opset) std::printf("  opset:   %lld\n", static_cast<long long>(*e->opset));
    if (e->license) std::printf("  license: %s\n", e->license->c_str());
    if (e->description) std::printf("  about:   %s\n", e->description->c_str());
    if (e->notes) std::printf("  notes:   %s\n", e->notes->c_str());
    std::printf("  runs:    %s (%s): %s\n", decision.c_str(), reason.c_str(), why.c_str());
  }
  if (json) std::printf("%s\n", json_dump(out, 2).c_str());
  return 0;
}

}  // namespace

std::function<int()> add_registry(CLI::App& app) {
  auto* sub = app.add_subcommand(kRegistryCommand.name, kRegistryCommand.description);
  sub->require_subcommand(1);
  struct Opts {
    std::string path, id, onnx, int8, mode, kind, eval, calibration, license, notes, description;
    double budget = -1;
    bool smoke = false, no_files = false, quiet = false, json = false;
    int threads = 1;
    std::vector<std::string> assignments;
  };
  auto o = std::make_shared<Opts>();

  auto* v =
      sub->add_subcommand("validate", "Check a registry: the schema, the rules, and every file's sha256");
  v->add_option("registry", o->path, "registry.json")->required();
  v->add_flag("--no-files", o->no_files, "Check the document only, not the model files");
  v->add_flag("--no-warnings", o->quiet,
              "Do not print the schema's advice (licence, opset, calibration set)");

  auto* a = sub->add_subcommand(
      "add", "Add a model: copies it (and its int8 twin) beside the registry, records digests");
  a->add_option("registry", o->path, "registry.json (created when missing)")->required();
  a->add_option("--id", o->id, "Stable id (lowercase, digits, '_', '-')")->required();
  a->add_option("--onnx", o->onnx, "The fp32 model")->required();
  a->add_option("--int8", o->int8, "Its int8 twin (quant_mode dynamic unless --quant-mode says otherwise)");
  a->add_option("--quant-mode", o->mode, "fp32, dynamic, static or qat")
      ->check(CLI::IsMember({"fp32", "dynamic", "static", "qat"}));
  a->add_option("--kind", o->kind, "fr, nr or filter (default: from the model's shapes)")
      ->check(CLI::IsMember({"fr", "nr", "filter"}));
  a->add_option("--budget", o->budget, "PLCC drop budget (default: qat 0.002, static 0.005, dynamic 0.01)");
  auto* eval =
      a->add_option("--eval", o->eval, "EVAL.npz: measure the int8 model's PLCC drop now and record it");
  a->add_option("--calibration-set", o->calibration, "quant_calibration_set to record (static)");
  a->add_option("--license", o->license, "SPDX licence identifier");
  a->add_option("--notes", o->notes, "Provenance notes");
  a->add_option("--description", o->description, "One-line summary");
  a->add_flag("--smoke", o->smoke, "A load-path probe, not a quality model");
  a->add_option("--threads", o->threads, "Worker threads for --eval")
      ->check(CLI::Range(1, 256))
      ->capture_default_str()
      ->needs(eval);

  auto* s = sub->add_subcommand(
      "set", "Change fields of one entry: FIELD=VALUE (VALUE empty removes; sha256=auto rehashes)");
  s->add_option("registry", o->path, "registry.json")->required();
  s->add_option("id", o->id, "Model id")->required();
  s->add_option("assignments", o->assignments, "FIELD=VALUE ...")->required();

  auto* sh = sub->add_subcommand(
      "show", "Entries with their files, budgets, measured drops and what the runtime runs");
  sh->add_option("registry", o->path, "registry.json")->required();
  sh->add_option("id", o->id, "Only this model");
  sh->add_flag("--json", o->json, "Print JSON");

  return [o, v, a, s, sh] {
    if (v->parsed()) return cmd_validate(o->path, !o->no_files, o->quiet);
    if (sh->parsed()) return cmd_show(o->path, o->id, o->json);
    if (a->parsed()) {
      handoff::Artifact art;
      art.registry = o->path;
      art.id = o->id;
      art.fp32 = o->onnx;
      art.int8 = o->int8;
      art.quant_mode = o->mode;
      art.kind = o->kind;
      art.eval_data = o->eval;
      art.threads = o->threads;
      art.replace = false;
      if (o->budget != -1) art.budget = o->budget;
      if (!o->calibration.empty()) art.calibration_set = o->calibration;
      if (!o->license.empty()) art.license = o->license;
      if (!o->notes.empty()) art.notes = o->notes;
      if (!o->description.empty()) art.description = o->description;
      if (o->smoke) art.smoke = true;
      std::fputs(handoff::register_artifact(art).summary.c_str(), stdout);
      return 0;
    }
    if (s->parsed()) {
      reg::Registry r = reg::load_registry(o->path);
      for (const auto& kv : o->assignments) {
        auto eq = kv.find('=');
        TQ_CHECK(eq != std::string::npos && eq > 0, "{}: '{}' is not FIELD=VALUE", o->path, kv);
        handoff::set_field(r, o->id, kv.substr(0, eq), kv.substr(eq + 1));
      }
      // Validated before anything is written: an invalid result changes nothing.
      reg::Validation val = reg::validate_text(reg::to_text(r));
      if (!val.errors.empty()) {
        std::string msg =
            fmt::format("{}: the change would make the registry invalid (nothing written):", o->path);
        for (const auto& x : val.errors) msg += "\n  " + reg::format(x);
        throw Error(msg);
      }
      reg::write_sidecar(r, r.at(o->id), std::nullopt);
      reg::save_registry(r);
      std::printf("%s: updated '%s'\n", o->path.c_str(), o->id.c_str());
      return 0;
    }
    return 2;
  };
}

}  // namespace tinyqat::cli
