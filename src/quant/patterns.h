// Which node groups quantize as a unit (ONNX Runtime's QDQ selectors, in our words). A weighted unit
// is Conv/Gemm/MatMul with constant weights plus an optional following Relu/Clip: quantized at its
// output only, never between the op and its activation (most of the peers' loss on depthwise nets
// comes from quantizing the wide pre-activation outputs).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyqat::quant {

struct WeightedUnit {
  int node = -1;                    // Conv / Gemm / MatMul
  int activation = -1;              // Relu / Clip fused into the unit, or -1
  int64_t weight_axis = 0;          // output-channel axis of the weight tensor
  std::string input, weight, bias;  // bias "" when absent
  std::string op_output;            // the op's own output (pre-activation)
  std::string output;               // the unit's output (after the activation)
};

// The weighted unit rooted at node i, or nullopt with `why` set when the node can't be one (e.g.
// Gemm with transA, computed weights).
std::optional<WeightedUnit> weighted_unit(const Graph& g, int i, std::string* why);

bool is_constant(const Graph& g, const std::string& value);
// After a pass rewrote the graph: drop initializers nobody reads, sort, re-infer shapes, and mark it
// as a new tinyqat graph (IR version 8: opsets 13–18, what the ONNX checker reads).
void finish_quantized_graph(Model& m);

}  // namespace tinyqat::quant
