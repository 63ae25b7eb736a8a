// The quantization ladder: dynamic → static → mixed → QAT. Each rung tried is measured on the evaluation
// data — PLCC drop (worst output), latency in our runtime (runtime/latency.h, the loop `tinyqat bench`
// times with), size of the serialised file — and the kept rung is chosen from that table by an objective
// (choose_rung, a pure function): by default the fastest rung within the budget. A model no rung fits
// stays fp32 (the seed's rule). The mixed rung is static PTQ with the k most sensitive units
// (quant/sensitivity.h) kept in float, k the smallest that meets the budget. The QAT rung is injected:
// the trainer (LibTorch) is not part of this library; the command line, which links it, supplies
// distillation QAT (train::ladder_qat_rung). handoff/quantize.h runs the ladder on files and registers
// the outcome.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
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

// Which rung within the budget is kept. Whatever the objective, a rung slower than fp32 is never kept
// when a rung not slower than fp32 is also within the budget.
enum class Objective {
  Latency,   // the fastest (median latency in our runtime); the default
  Accuracy,  // the smallest PLCC drop
  Size,      // the smallest file
  Effort,    // the first in ladder order (dynamic, static, mixed, QAT): least work, the seed's "cheapest"
};
Objective parse_objective(const std::string& s);  // latency | accuracy | size | effort
const char* name(Objective o);

inline constexpr int kLatencyIterations = 20;  // timed runs per rung (quantize --latency-iterations)

struct LadderOptions {
  double budget = 0.01;
  QConfig static_config;  // method / activations / samples / exclude for the static and mixed rungs
  int threads = 1;
  std::optional<QatRung> qat;  // none: reported as not available, with `qat_unavailable`
  std::string qat_unavailable = "not available: this build has no trainer (TINYQAT_BUILD_TRAIN=OFF)";
  Objective objective = Objective::Latency;
  bool mixed = true;  // false: the mixed rung is skipped
  // Latency of fp32 and each rung tried: median of this many timed runs after `latency_warmup`, on the
  // first sample of the evaluation data; 0 measures none (the rungs then compare as equally fast).
  int latency_iterations = kLatencyIterations, latency_warmup = 3;
  std::function<void(const std::string&)> progress;  // one line per step (may be empty)
};

struct Rung {
  std::string mode;            // dynamic | static | mixed | qat
  bool tried = false;          // false: skipped (message says why)
  std::optional<double> drop;  // worst output's PLCC drop when tried
  bool within = false;
  std::string message;
  std::optional<double> latency_ms;   // median latency in our runtime, when measured
  std::optional<int64_t> size_bytes;  // the serialised ONNX file
  int64_t samples = 0;                // evaluation samples
  // mixed: the units kept in float (most sensitive first), the unit count, and each k tried with its
  // drop in search order.
  std::vector<std::string> kept_fp32;
  int units = 0;
  std::vector<std::pair<int, double>> k_tried;
};

struct LadderResult {
  std::vector<Rung> rungs;
  std::string chosen;  // "" when no rung fits: the model stays fp32
  Model int8;          // the chosen rung's model
  double drop = 0;
  int64_t samples = 0;
  std::vector<std::string> kept_fp32;  // the chosen rung's units kept in float (mixed)
  Objective objective = Objective::Latency;
  std::optional<double> fp32_latency_ms;
  int64_t fp32_size_bytes = 0;
};

// The kept rung: the index into `rungs` of the rung `objective` picks among those tried and within the
// budget — after dropping those slower than `fp32_latency_ms` when any is not — or -1 when none is
// within. Ties go to the earlier rung; unknown latencies count as not slower than fp32.
int choose_rung(const std::vector<Rung>& rungs, std::optional<double> fp32_latency_ms, Objective objective);

// "" when the ladder should try rung `next` (static, mixed or qat) given the rungs so far, else why not:
// effort stops at the first rung within the budget that is not slower than fp32; accuracy tries every
// rung; latency and size skip mixed and QAT once a rung within the budget is at least as fast (small)
// as the static rung — the QAT rung has the static rung's form, and the mixed rung (units in float, so
// slower) exists to bring static within the budget.
std::string reason_to_skip(const std::vector<Rung>& rungs, std::optional<double> fp32_latency_ms,
                           Objective objective, const std::string& next);

// The smallest k in [1, n] with meets(k), searching k = 1, 2, 4, … (capped at n) and then bisecting
// between the last k that missed and the first that met; 0 when not even k = n meets. Assumes that
// keeping more units in float does not make the model worse. Each k asked is appended to `asked`.
int smallest_k(int n, const std::function<bool(int)>& meets, std::vector<int>* asked = nullptr);

// `calibration` empty: the static, mixed and QAT rungs are skipped (reported).
LadderResult run_ladder(const Model& fp32, const NamedTensors& eval, const NamedTensors& calibration,
                        const LadderOptions& opts);

// The table (fp32 and every rung: drop, latency, size, what happened) and the decision.
std::string ladder_text(const LadderResult& r, double budget);
std::string ladder_json(const LadderResult& r, double budget);
std::string ladder_markdown(const LadderResult& r, double budget);

}  // namespace tinyqat::quant
