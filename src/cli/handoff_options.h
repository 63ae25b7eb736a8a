// The `--register R.json --id ID` handoff options shared by `tinyqat ptq`, `tinyqat qat` and (without
// --eval/--budget, which it has as its own) `tinyqat quantize`. Header-only: CLI11 stays out of the
// libraries. Usage in a command file:
//   auto handoff = add_handoff_options(sub);            // with the other options
//   ... return [o, handoff] { ...; run_handoff(*handoff, fp32, int8, mode, calibration); }
#pragma once
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "handoff/handoff.h"

namespace tinyqat::cli {

struct HandoffOptions {
  std::string registry, id, kind, eval, license;
  double budget = -1;  // < 0: the mode's default
  int threads = 1;
};

// `measured`: also --eval and --budget (the drop to record and the budget it is held to).
inline std::shared_ptr<HandoffOptions> add_handoff_options(CLI::App* sub, bool measured = true) {
  auto h = std::make_shared<HandoffOptions>();
  auto* reg =
      sub->add_option("--register", h->registry,
                      "Register the result in this registry.json (files copied beside it, digests, mode, "
                      "budget, measured drop); created when missing");
  auto* id = sub->add_option("--id", h->id, "Registry id for --register (lowercase, digits, '_', '-')")
                 ->check(CLI::Validator(
                     [](std::string& s) {
                       return registry::is_valid_id(s)
                                  ? std::string()
                                  : "id '" + s + "' must match ^[a-z0-9][a-z0-9_-]*$ (at most 64 characters)";
                     },
                     "ID"));
  reg->needs(id);
  id->needs(reg);
  sub->add_option("--kind", h->kind, "Registry kind: fr, nr or filter (default: from the model's shapes)")
      ->check(CLI::IsMember({"fr", "nr", "filter"}))
      ->needs(reg);
  sub->add_option("--license", h->license, "SPDX licence of the model for the registry entry")->needs(reg);
  if (!measured) return h;
  sub->add_option("--eval", h->eval,
                  "EVAL.npz to measure the PLCC drop on and record it with --register (one array per input)")
      ->needs(reg);
  sub->add_option("--budget", h->budget,
                  "PLCC drop budget to record (default: qat 0.002, static 0.005, dynamic 0.01)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(reg);
  return h;
}

// Before the command writes anything: the registry --register names can be written (see
// handoff::check_registry_target).
inline void precheck_handoff(const HandoffOptions& h) {
  if (!h.registry.empty()) handoff::check_registry_target(h.registry);
}

inline void run_handoff(const HandoffOptions& h, const std::string& fp32, const std::string& int8,
                        const std::string& mode, const std::string& calibration = "") {
  if (h.registry.empty()) return;
  handoff::Artifact a;
  a.registry = h.registry;
  a.id = h.id;
  a.fp32 = fp32;
  a.int8 = int8;
  a.quant_mode = mode;
  a.kind = h.kind;
  a.eval_data = h.eval;
  a.threads = h.threads;
  if (h.budget >= 0) a.budget = h.budget;
  if (!h.license.empty()) a.license = h.license;
  if (!calibration.empty()) a.calibration_set = calibration;
  std::fputs(handoff::register_artifact(a).summary.c_str(), stderr);
}

}  // namespace tinyqat::cli
