// The quantization ladder: dynamic → static → QAT, cheapest rung first; keeps the first whose PLCC drop
// on the evaluation data is within the budget; a model no rung fits stays fp32 (the seed's rule). The
// QAT rung is injected: the trainer (LibTorch) is not part of this library; the command line, which
// links it, supplies distillation QAT (train::ladder_qat_rung). handoff/quantize.h runs the ladder on
// files and registers the outcome.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/graph.h"
#include "quant/qconfig.h"

namespace tinyqat::quant {

// The QAT rung. It distills on the calibration inputs, so it is skipped without them.
struct QatRung {
  // "" when the rung can take this model, else why not (the trainer takes single-input models). May be empty.
  std::function<std::string(const Model& fp32)> refuses;
  // fp32 model + calibration inputs → int8 model.
  std::function<Model(const Model& fp32, const NamedTensors& calibration)> run;
};

struct LadderOptions {
  double budget = 0.01;
  QConfig static_config;  // method / activations / samples / exclude for the static rung
  int threads = 1;
  std::optional<QatRung> qat;  // none: reported as not available, with `qat_unavailable`
  std::string qat_unavailable = "not available: this build has no trainer (TINYQAT_BUILD_TRAIN=OFF)";
};

struct Rung {
  std::string mode;            // dynamic | static | qat
  bool tried = false;          // false: not available (message says why)
  std::optional<double> drop;  // worst output's PLCC drop when tried
  bool within = false;
  std::string message;
};

struct LadderResult {
  std::vector<Rung> rungs;
  std::string chosen;  // "" when no rung fits: the model stays fp32
  Model int8;          // the chosen rung's model
  double drop = 0;
  int64_t samples = 0;
};

// `calibration` empty: the static and QAT rungs are skipped (reported).
LadderResult run_ladder(const Model& fp32, const NamedTensors& eval, const NamedTensors& calibration,
                        const LadderOptions& opts);
std::string ladder_text(const LadderResult& r, double budget);

}  // namespace tinyqat::quant
