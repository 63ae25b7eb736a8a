// The accuracy gate (the fork's measure_quant_drop contract): for each registry entry, fp32 vs int8 on
// evaluation data — PLCC, SROCC, RMSE, max |diff| (quant::compare_models) — and PASS when the worst
// output's PLCC drop (or, with a confidence, the upper end of its bootstrap interval) is within the
// entry's budget; tensors whose values clip outside their calibrated range are named. fp32-only and smoke
// entries are skipped. Exit code: 0 all pass, 1 any over budget, 2 any error (an error wins).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/bootstrap.h"
#include "quant/compare.h"
#include "registry/registry.h"

namespace tinyqat::handoff {

struct GateOptions {
  std::string data;                             // EVAL.npz for every model (may be empty if per-id given)
  std::map<std::string, std::string> data_for;  // id → EVAL.npz (wins over `data`)
  int threads = 1;
  bool record = false;    // write the measurement into each measured model's sidecar
  std::string plots_dir;  // "" = no plots; else <dir>/<id>.scatter.png (+ <id>.frame.png for image outputs)
  // A warning per quantized tensor whose fp32 values fall outside its calibrated range more often than
  // this share (quant::Clipping); > 1 turns the check off.
  double clip_warn = 0.001;
  // > 0: bootstrap interval of the drop at this confidence (quant::bootstrap_drop), and PASS only when its
  // upper end is within the budget. 0: the point estimate gates.
  double confidence = 0;
};

enum class GateStatus { Pass, Fail, Skip, Error };
const char* name(GateStatus s);

struct GateResult {
  std::string id, quant_mode;
  GateStatus status = GateStatus::Skip;
  std::string message;  // why skipped / the error
  double budget = 0;
  bool budget_recorded = false;
  double drop = 0;  // worst output's 1 − PLCC
  std::string worst_output;
  quant::Comparison comparison;
  std::vector<quant::LayerComparison> clipping;  // tensors over GateOptions::clip_warn
  quant::DropInterval interval;                  // confidence 0 when not asked for
  std::string data;                              // "EVAL.npz (sha256 …)"
  std::string plot;                              // written PNG, if any
  std::string frame_plot;  // image outputs: fp32 / int8 / difference on the first sample
};

struct GateReport {
  std::string registry;
  std::vector<GateResult> results;
  int exit_code() const;
};

// `ids` empty = every entry. Errors for one model are recorded in its result; an unknown id or an
// unreadable registry throw Error.
GateReport run_gate(const registry::Registry& reg, const std::vector<std::string>& ids,
                    const GateOptions& opts);

std::string gate_text(const GateReport& r);
std::string gate_json(const GateReport& r);
std::string gate_markdown(const GateReport& r);

}  // namespace tinyqat::handoff
