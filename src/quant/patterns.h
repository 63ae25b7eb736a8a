// The quantizer's names for the selectors of src/qdq (which node groups quantize as a unit: defined
// there once, for the quantizer's plan and the runtime's QDQ fusion alike). A weighted unit is
// Conv/Gemm/MatMul with constant weights plus an optional following Relu/Clip: quantized at its output
// only, never between the op and its activation (most of the peers' loss on depthwise nets comes from
// quantizing the wide pre-activation outputs).
#pragma once
#include <optional>
#include <string>

#include "ir/graph.h"
#include "qdq/selectors.h"

namespace tinyqat::quant {

using WeightedUnit = qdq::WeightedUnit;

// The weighted unit rooted at node i, or nullopt with `why` set (qdq::select_weighted_unit).
inline std::optional<WeightedUnit> weighted_unit(const Graph& g, int i, std::string* why) {
  return qdq::select_weighted_unit(g, i, why);
}

using qdq::is_constant;

// After a pass rewrote the graph: drop initializers nobody reads, sort, re-infer shapes, and mark it
// as a new tinyqat graph (IR version 8: opsets 13–18, what the ONNX checker reads).
void finish_quantized_graph(Model& m);

}  // namespace tinyqat::quant
