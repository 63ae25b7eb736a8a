// Measures a quantized model against its fp32 reference on an evaluation set: per-output agreement
// (PLCC, SROCC, RMSE, max |diff|), optionally against a target array (labels or clean images), and per
// quantized tensor the SQNR against the fp32 graph — the sensitivity view that says which layer to
// keep in fp32.
#pragma once
#include <optional>
#include <string>
#include <vector>

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

struct LayerComparison {
  std::string tensor;  // the fp32 tensor a QuantizeLinear reads
  double sqnr_db = 0, rmse = 0, max_abs = 0;
};

struct Comparison {
  int64_t samples = 0;
  std::vector<OutputComparison> outputs;
  std::vector<LayerComparison> layers;  // with per_layer, in graph order
};

struct CompareOptions {
  bool per_layer = false;
  std::string target;  // name of an array in the data to compare each model against ("" = none)
  int threads = 1;
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
DropMeasurement measure_drop(const Model& fp32, const Model& int8, const NamedTensors& data, int threads);

std::string comparison_json(const Comparison& c);
std::string comparison_text(const Comparison& c);

}  // namespace tinyqat::quant
