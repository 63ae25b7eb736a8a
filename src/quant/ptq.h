// Post-training quantization: the two cheaper rungs of the ladder (dynamic → static → qat). Both
// write standard ONNX that ONNX Runtime runs (dynamic: DynamicQuantizeLinear + ConvInteger /
// MatMulInteger; static: QDQ with per-channel int8 weights, per-tensor activations, int32 bias), with
// the conventions the QAT exporter shares (weights.h, qconfig.h).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/npy.h"
#include "ir/graph.h"
#include "quant/qconfig.h"

namespace tinyqat::quant {

// What the calibration set covered (static PTQ): per graph input the min / max over the samples used,
// and the quantized tensors whose min/max range still grew over the last quarter of the set (a sign that
// the set is too small or ordered: values beyond it are likely in deployment, and they will clip).
struct CalibrationCoverage {
  struct Input {
    std::string name;
    double min = 0, max = 0;
  };
  struct Growth {
    std::string tensor;
    double early_lo = 0, early_hi = 0, lo = 0, hi = 0;  // min/max after the first part, after all
    double growth = 0;                                  // (width − early width) / width
  };
  std::vector<Input> inputs;
  int64_t early_samples = 0;    // the first part: the growth check compares against this prefix (0: none)
  std::vector<Growth> growing;  // growth above kGrowthWarn, largest first
};
inline constexpr int64_t kMinCalibrationSamples = 32;  // fewer: ptq warns
inline constexpr double kGrowthWarn = 0.05;            // range growth over the last quarter that warns

// One unit's empirical bias correction (static PTQ, QConfig::bias_correction).
struct BiasCorrection {
  std::string node;
  double max_shift = 0;  // the largest |change| of one channel's bias
  double max_bias = 0;   // the largest |bias| before, for scale
};

struct PtqReport {
  std::vector<std::string> quantized;                          // node names (weighted ops and others)
  std::vector<std::pair<std::string, std::string>> kept_fp32;  // node name, why
  std::vector<std::string> float_outputs;                      // graph outputs not re-quantized (static)
  std::map<std::string, QParams> activations;                  // tensor → parameters (static)
  int64_t samples = 0;                                         // calibration samples used (static)
  CalibrationCoverage coverage;                                // (static)
  std::vector<BiasCorrection> bias_corrections;                // (static, when on)
  std::vector<std::string> folded_batchnorms;  // BatchNormalization nodes folded into the op before them
};

// Refuses a model that is already quantized (any Q/DQ, *Integer or QLinear* op).
void check_fp32(const Model& m, const std::string& what);

// A copy of `fp32` with every foldable BatchNormalization folded into the op before it
// (ir/fold_batchnorm.h; the names go to rep.folded_batchnorms): both quantizers work on it.
Model with_batchnorm_folded(const Model& fp32, PtqReport& rep);

Model ptq_dynamic(const Model& fp32, const QConfig& cfg, PtqReport* report);

// `calibration`: one array per graph input, samples stacked on axis 0 (the fork's CALIB.npz format).
Model ptq_static(const Model& fp32, const NamedTensors& calibration, const QConfig& cfg, PtqReport* report);

}  // namespace tinyqat::quant
