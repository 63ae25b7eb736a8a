// The sensitivity view: for every unit static PTQ quantizes (a Conv / Gemm / MatMul with its activation,
// named by its node — what `ptq --exclude` takes), the PLCC drop with only that unit quantized and with
// every unit but that one quantized, on evaluation data. Sorted by what keeping the unit in fp32 gains,
// so the first row names the node to `--exclude`.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/graph.h"
#include "quant/qconfig.h"

namespace tinyqat::quant {

struct UnitSensitivity {
  std::string node, op_type;
  double only_drop = 0;     // only this unit quantized (everything else fp32)
  double without_drop = 0;  // every quantized node but this one (`ptq --exclude NODE`)
};

struct Sensitivity {
  double full_drop = 0;                // every unit quantized
  std::vector<UnitSensitivity> units;  // largest gain (full_drop − without_drop) first
};

// The configuration an int8 model was written with, from its `tinyqat.qconfig` metadata (activations,
// method, range_margin) and whether a graph output comes out of a DequantizeLinear (quantize_outputs);
// `known` false when the metadata is missing (defaults are returned).
QConfig qconfig_of(const Model& int8, bool* known);

// `progress(done, total)` after each measured variant.
Sensitivity sensitivity(const Model& fp32, const NamedTensors& calibration, const NamedTensors& eval,
                        const QConfig& cfg, int threads, const std::function<void(int, int)>& progress = {});

std::string sensitivity_text(const Sensitivity& s);
std::string sensitivity_json(const Sensitivity& s);

}  // namespace tinyqat::quant
