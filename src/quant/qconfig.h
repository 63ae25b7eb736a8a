// qconfig: WHICH quantization goes where. The int8 contract itself (rounding, saturation) is in
// core/numerics.h; observers (how ranges are measured) in observers.h; passes (how the graph is
// rewritten) in ptq_static.cpp / ptq_dynamic.cpp.
#pragma once
#include <cstdint>
#include <set>
#include <string>

#include "core/tensor.h"

namespace tinyqat::quant {

enum class ActScheme {
  Symmetric,   // int8, zero point 0, scale absmax/127 (the seed's choice)
  Asymmetric,  // uint8, zero point from the range: uses all 256 levels after a ReLU
};
enum class CalibMethod { MinMax, Percentile, Entropy, Mse };

// THE default, named once: every default in tinyqat — the QConfig below, `tinyqat ptq` and `tinyqat
// quantize`, the QAT trainer's qat.qconfig and qat.init_ranges — is this preset, the measured best of
// docs/quantization.md ("Which rung, with numbers"): asymmetric (uint8) activations, 2.6–2.9× less PLCC
// drop than symmetric on nr_metric_v1 and the form ONNX Runtime fuses into integer kernels everywhere;
// ranges calibrated with mse, the best method on all three fork models.
inline constexpr ActScheme kDefaultActivations = ActScheme::Asymmetric;
inline constexpr CalibMethod kDefaultMethod = CalibMethod::Mse;

struct QConfig {
  ActScheme activations = kDefaultActivations;
  CalibMethod method = kDefaultMethod;
  double percentile = 99.999;     // for CalibMethod::Percentile
  int64_t max_samples = -1;       // calibration samples used (-1: all)
  std::set<std::string> exclude;  // node names kept in fp32
  // false (default): float heads (qdq::float_heads: a graph output computed by a weighted unit or a
  // residual Add, through shape ops and Relu/Clip) are not re-quantized — the integer kernel writes
  // float, no calibrated range clips a score. true: every planned output gets a QuantizeLinear.
  bool quantize_outputs = false;
  // Headroom for values the calibration set did not reach: every calibrated range [lo, hi] becomes
  // [(1 + m)·lo, (1 + m)·hi] (the scale grows by 1 + m, 0 stays exact). 0 (default): ranges as calibrated.
  double range_margin = 0;
  // Empirical bias correction after calibration (plan.h correct_biases): each unit's bias absorbs the
  // per-channel mean shift that quantization causes on the calibration set. On by default: on held-out
  // data it halves nr_metric_v1's PLCC drop (docs/quantization.md, "Bias correction"); the seed preset
  // has it off.
  bool bias_correction = true;
};

// The presets by name: "default" (above) and "seed" (the seed's choice: symmetric int8 activations with
// zero point 0, minmax ranges). Error for another name.
QConfig preset(const std::string& name);
inline const char* const kPresetNames = "default, seed";

ActScheme parse_act_scheme(const std::string& s);  // "symmetric" | "asymmetric"; Error otherwise
CalibMethod parse_method(const std::string& s);    // "minmax" | "percentile" | "entropy" | "mse"
const char* name(ActScheme a);
const char* name(CalibMethod m);

// Quantization parameters of one tensor (per-tensor) — what QuantizeLinear/DequantizeLinear carry.
struct QParams {
  float scale = 1.f;
  int32_t zero_point = 0;
  DType type = DType::I8;
  int32_t qmin() const { return type == DType::U8 ? 0 : -128; }
  int32_t qmax() const { return type == DType::U8 ? 255 : 127; }
};

// Parameters for a real-valued range [lo, hi] (lo ≤ hi; 0 is always included). A degenerate range
// (all zeros, a constant) still gets a positive scale.
QParams qparams_for_range(float lo, float hi, ActScheme scheme);

}  // namespace tinyqat::quant
