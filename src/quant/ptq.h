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

struct PtqReport {
  std::vector<std::string> quantized;                          // node names (weighted ops and others)
  std::vector<std::pair<std::string, std::string>> kept_fp32;  // node name, why
  std::vector<std::string> float_outputs;                      // graph outputs not re-quantized (static)
  std::map<std::string, QParams> activations;                  // tensor → parameters (static)
  int64_t samples = 0;                                         // calibration samples used (static)
};

// Refuses a model that is already quantized (any Q/DQ, *Integer or QLinear* op).
void check_fp32(const Model& m, const std::string& what);

Model ptq_dynamic(const Model& fp32, const QConfig& cfg, PtqReport* report);

// `calibration`: one array per graph input, samples stacked on axis 0 (the fork's CALIB.npz format).
Model ptq_static(const Model& fp32, const NamedTensors& calibration, const QConfig& cfg, PtqReport* report);

}  // namespace tinyqat::quant
