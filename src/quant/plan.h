// The static quantization plan, shared by static PTQ and the QAT trainer so both quantize exactly the
// same tensors: which activations get a QuantizeLinear → DequantizeLinear pair (by unit: the selectors
// of src/qdq), which tensors share parameters, and the QDQ writer that turns a plan plus parameters into
// a graph. PTQ fills the parameters from calibration; QAT from its trained observers.
#pragma once
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/npy.h"
#include "quant/patterns.h"
#include "quant/ptq.h"
#include "quant/qconfig.h"

namespace tinyqat::quant {

// Tensors that must share quantization parameters (MaxPool, Concat and reshapes in/out).
class Ties {
 public:
  std::string find(const std::string& v) const {
    auto it = parent_.find(v);
    return it == parent_.end() || it->second == v ? v : find(it->second);
  }
  void join(const std::string& a, const std::string& b) {
    std::string ra = find(a), rb = find(b);
    if (ra != rb) parent_[rb] = ra;
    parent_.emplace(ra, ra);
  }

 private:
  std::map<std::string, std::string> parent_;
};

struct QuantPlan {
  std::vector<std::string> tensors;  // activations to quantize, in first-seen order
  std::set<std::string> in_plan;
  std::vector<WeightedUnit> units;  // per-channel int8 weights, int32 bias
  Ties ties;
  // Pre-activation outputs of fused units: quantized with the unit output's parameters, not observed.
  std::map<std::string, std::string> same_as;
  // Values left in float because they lead straight to a graph output (QConfig::quantize_outputs).
  std::set<std::string> float_heads;
  void add(const std::string& t) {
    if (in_plan.insert(t).second) tensors.push_back(t);
  }
};

// The plan for an fp32 graph (nodes the config excludes or that have no int8 form are reported in
// `rep->kept_fp32`).
QuantPlan plan_static(const Graph& g, const QConfig& cfg, PtqReport* rep);

// The calibrated range [lo, hi] of every planned tensor (tie groups share the union of their ranges).
std::map<std::string, std::pair<float, float>> calibrate_ranges(const Model& fp32, const QuantPlan& plan,
                                                                const NamedTensors& calibration,
                                                                const QConfig& cfg, int64_t* used,
                                                                CalibrationCoverage* coverage = nullptr);

// The QDQ graph for `fp32` with parameters `acts` for every planned tensor; weights are quantized from
// fp32's initializers (weights.h), biases to int32 with input scale × weight scale. Adds no metadata.
Model write_qdq(const Model& fp32, const QuantPlan& plan, const std::map<std::string, QParams>& acts,
                PtqReport* report);

// Empirical bias correction (bias_correction.cpp): unit by unit in graph order, the per-channel mean of
// the unit's pre-activation output over the first `samples` calibration samples, fp32 against the QDQ
// graph (write_qdq with `acts`) in which every earlier unit is already corrected, added to the unit's
// float bias. A Conv or Gemm without a bias gets a zero one first (in the returned graph and in `plan`'s
// unit). Returns `fp32` with the corrected biases; write_qdq of it and `plan` is the corrected int8 graph.
Model correct_biases(const Model& fp32, QuantPlan* plan, const std::map<std::string, QParams>& acts,
                     const NamedTensors& calibration, int64_t samples, std::vector<BiasCorrection>* report);

}  // namespace tinyqat::quant
