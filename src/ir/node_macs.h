// Multiply-accumulates per run of the nodes that do them — Conv / ConvTranspose / MatMul / Gemm and their
// integer forms (ConvInteger, QLinearConv, QLinearConvTranspose, MatMulInteger, QLinearMatMul) — at the
// graph's inferred shapes, a dimension unknown until run time counted as 1. The runtime's int8-versus-fp32
// prediction (runtime/int8_speed.h) and `bench --profile` (GMAC/s per node) read it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyqat {

enum class MacFamily {
  None,           // not a multiply-accumulate node
  DenseConv,      // Conv / ConvTranspose with more than one input channel per group (1×1 included)
  DepthwiseConv,  // one input channel per group, several groups
  Gemm            // MatMul / Gemm
};
const char* mac_family_name(MacFamily f);  // "dense-conv", "depthwise-conv", "gemm", "none"

struct NodeMacs {
  MacFamily family = MacFamily::None;
  bool integer = false;  // an integer operator (u8/s8 operands, int32 sums)
  double macs = 0;       // 0 when shapes are not known well enough
};

// Shapes come from initializers, graph inputs/outputs and graph.value_info (infer_shapes).
NodeMacs node_macs(const Graph& g, const Node& n);

// The shape of value `v` as node_macs reads it (unknown dims as 1); nullopt when its rank is unknown.
std::optional<std::vector<int64_t>> shape_or_ones(const Graph& g, const std::string& v);

}  // namespace tinyqat
