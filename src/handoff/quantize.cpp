#include "handoff/quantize.h"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/model_paths.h"
#include "core/sha256.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"

namespace tinyqat::handoff {

namespace {

// The registry entry for the outcome: the kept mode with the drop the ladder measured, or fp32.
Artifact outcome_artifact(const QuantizeJob& job, const QuantizeOutcome& out) {
  Artifact a;
  a.registry = job.registry;
  a.id = job.id;
  a.fp32 = job.model;
  a.kind = job.kind;
  a.threads = job.ladder.threads;
  if (!job.license.empty()) a.license = job.license;
  a.budget = job.ladder.budget;
  const quant::LadderResult& res = out.ladder;
  if (res.chosen.empty()) {
    a.quant_mode = "fp32";
    a.notes = "tinyqat quantize: no rung within the budget; kept fp32";
    return a;
  }
  // The mixed rung's file is static PTQ with some units kept in float (the registry knows four modes).
  a.quant_mode = res.chosen == "mixed" ? "static" : res.chosen;
  if (!res.kept_fp32.empty())
    a.notes = fmt::format("tinyqat quantize: mixed rung, kept in float: {}", fmt::join(res.kept_fp32, ", "));
  a.int8 = out.written;
  if (res.chosen != "dynamic" && !job.calibration.empty()) a.calibration_set = job.calibration;
  registry::Measurement m;
  m.drop_plcc = res.drop;
  m.samples = res.samples;
  m.data = fmt::format("{} (sha256 {})", std::filesystem::path(job.data).filename().string(),
                       sha256_file(job.data));
  a.measurement = m;
  return a;
}

}  // namespace

QuantizeOutcome quantize_model(const QuantizeJob& job) {
  if (!job.registry.empty()) check_registry_target(job.registry);  // before anything is written
  const Model m = import_onnx(job.model);
  for (const auto& e : job.ladder.static_config.exclude)
    TQ_CHECK(m.graph.has_node(e), "--exclude '{}': {} has no node of that name", e, job.model);
  const std::vector<std::string> inputs = names_of(m.graph.inputs);
  const NamedTensors eval = read_model_data({job.data}, inputs, "--data").inputs;
  NamedTensors calib;
  if (!job.calibration.empty()) calib = read_model_data({job.calibration}, inputs, "--calibration").inputs;

  QuantizeOutcome out;
  out.ladder = quant::run_ladder(m, eval, calib, job.ladder);
  if (!out.ladder.chosen.empty()) {
    out.written = job.output.empty() ? int8_twin(job.model) : job.output;
    check_onnx(out.ladder.int8);
    export_onnx(out.ladder.int8, out.written);
  }
  if (!job.registry.empty()) out.registered = register_artifact(outcome_artifact(job, out));
  return out;
}

}  // namespace tinyqat::handoff
