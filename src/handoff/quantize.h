// `tinyqat quantize` as a library call: the ladder (quant/ladder.h) on a model file and its data files,
// the kept rung written as an int8 file (by default the model's int8 twin, core/model_paths.h), and the
// outcome registered: the kept mode with the drop the ladder measured, or — when no rung fits the
// budget — the model as quant_mode fp32 ("a model over budget stays fp32").
// The QAT rung is injected through `ladder.qat`: libtinyqat does not link LibTorch, the command line that
// links the trainer passes train::ladder_qat_rung().
#pragma once
#include <optional>
#include <string>

#include "handoff/handoff.h"
#include "quant/ladder.h"

namespace tinyqat::handoff {

struct QuantizeJob {
  std::string model;        // the fp32 .onnx
  std::string data;         // evaluation data (io/model_data.h: FILE.npz, FILE.npy, NAME=FILE.npy)
  std::string calibration;  // calibration inputs; "" skips the static and QAT rungs
  std::string output;       // the int8 file; "" = the model's int8 twin
  quant::LadderOptions ladder;
  // Registration: registry "" = none.
  std::string registry, id, kind, license;
};

struct QuantizeOutcome {
  quant::LadderResult ladder;
  std::string written;  // the int8 file written; "" when no rung fits (nothing is written)
  std::optional<Registered> registered;
};

QuantizeOutcome quantize_model(const QuantizeJob& job);

}  // namespace tinyqat::handoff
