// Measures a quantized model against its fp32 reference on an evaluation set: per-output agreement
// (PLCC, SROCC, RMSE, max |diff|), optionally against a target array (labels or clean images), and per
// quantized tensor the SQNR against the fp32 graph — the sensitivity view that says which layer to
// keep in fp32 — and how many of each quantized tensor's values fell outside its calibrated range.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/npy.h"
#include "ir/graph.h"

namespace tinyqat::quant {

struct OutputComparison {
  std::string name;
  int64_t values = 0;
  double plcc = 0, srocc = 0, rmse = 0, max_abs = 0;
  double plcc_drop = 0;  // 1 − PLCC(fp32, int8)
  // Against the target array, when one is given: each model's PLCC and PSNR (peak 1.0).
  std::optional<double> ref_target_plcc, cand_target_plcc, ref_target_psnr, cand_target_psnr;
};

// The fp32 values of one quantized tensor against the range its QuantizeLinear represents,
// [(qmin − zp)·s, (qmax − zp)·s]: values strictly outside it saturate in the int8 graph.
struct Clipping {
  bool known = false;  // false: the QuantizeLinear's scale / zero point are not constant scalars
  double lo = 0, hi = 0;
  int64_t values = 0, below = 0, above = 0;
  double max_overshoot = 0;  // the largest distance outside [lo, hi], as a fraction of hi − lo
  double below_share() const { return values ? static_cast<double>(below) / values : 0.0; }
  double above_share() const { return values ? static_cast<double>(above) / values : 0.0; }
  double share() const { return values ? static_cast<double>(below + above) / values : 0.0; }
  void add(double x);
};

struct LayerComparison {
  std::string tensor;  // the fp32 tensor a QuantizeLinear reads
  std::string node;    // the fp32 node that produces it ("" for a graph input)
  // A unit's pre-activation value carrying the parameters of the activation's output (that tensor's
  // name): what clips below its range here is what the Relu/Clip removes anyway.
  std::string pre_activation_of;
  double sqnr_db = 0, rmse = 0, max_abs = 0;  // with per_layer only
  Clipping clipping;
};

struct Comparison {
  int64_t samples = 0;
  std::vector<OutputComparison> outputs;
  std::vector<LayerComparison> layers;  // with per_layer or clipping, in graph order
  // With keep_values: every output's values, flattened, in fp32.graph.outputs order.
  std::vector<std::vector<double>> fp32_values, int8_values;
};

struct CompareOptions {
  bool per_layer = false;  // SQNR and clipping of every quantized tensor
  std::string target;      // name of an array in the data to compare each model against ("" = none)
  int threads = 1;
  bool clipping = false;     // clipping only (no per-tensor SQNR; memory independent of the data size)
  bool keep_values = false;  // keep the outputs' values in the Comparison
};

Comparison compare_models(const Model& fp32, const Model& quantized, const NamedTensors& data,
                          const CompareOptions& opts);

// The accuracy gate's number: fp32 vs int8 on the data, and the worst output's PLCC drop (1 − PLCC; a
// NaN PLCC, from a constant output, counts as the worst possible drop, 2).
struct DropMeasurement {
  Comparison comparison;
  double drop = 0;
  std::string worst_output;
};
DropMeasurement measure_drop(const Model& fp32, const Model& int8, const NamedTensors& data, int threads,
                             bool clipping = false, bool keep_values = false);

std::string comparison_json(const Comparison& c);
// A tensor's clipping as JSON: range, values, below / above (shares), their counts, max_overshoot.
nlohmann::ordered_json clipping_json(const Clipping& k);
// The tensors that clip more than `threshold` of their values (pre-activation copies left out: their
// activation's output carries the same range and the clipping that matters).
std::vector<const LayerComparison*> clipping_over(const Comparison& c, double threshold);
// One line: "TENSOR (node N): clips X % of its values (below Y %, above Z %), overshoot up to W of its
// range [lo, hi]".
std::string clipping_line(const LayerComparison& l);
std::string comparison_text(const Comparison& c);

}  // namespace tinyqat::quant
