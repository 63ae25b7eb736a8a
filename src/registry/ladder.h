// The quantization ladder: dynamic → static → QAT, cheapest rung first; keeps the first whose PLCC drop
// on the evaluation data is within the budget. The QAT rung is reported as not available until the QAT
// trainer lands (its own issue); a model no rung fits stays fp32 (the seed's rule).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/graph.h"
#include "quant/qconfig.h"

namespace tinyqat::registry {

struct LadderOptions {
  double budget = 0.01;
  quant::QConfig static_config;  // method / activations / samples / exclude for the static rung
  int threads = 1;
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

// `calibration` empty: the static rung is skipped (reported).
LadderResult run_ladder(const Model& fp32, const NamedTensors& eval, const NamedTensors& calibration,
                        const LadderOptions& opts);
std::string ladder_text(const LadderResult& r, double budget);

}  // namespace tinyqat::registry
