// How far a plane model looks: the halo a tile needs around the pixels it keeps so that they equal the
// result on the whole plane (runtime/plane_tiles.h runs fixed-size filters over larger frames with it).
#pragma once
#include <cstdint>
#include <string>

#include "ir/graph.h"

namespace tinyqat {

struct ReceptiveField {
  // Pixels an output sample depends on, on each side (the larger of the two spatial axes): over the
  // path from the input, each Conv / ConvInteger / QLinearConv / pool adds its reach beyond the centre
  // (max(pad_begin, (kernel−1)·dilation − pad_begin), or ⌈(kernel−1)·dilation/2⌉ with auto_pad SAME)
  // times the product of the strides before it. Saturates at kMaxHalo.
  int64_t halo = 0;
  int64_t stride = 1;  // product of the strides along the path that reaches furthest
  // The first node that mixes distant positions (Reshape, Gemm, a global pool, ...), "" when every node
  // on the paths from the input is a conv, a pool or works sample by sample. Such a model cannot be tiled.
  std::string nonlocal;
};
inline constexpr int64_t kMaxHalo = int64_t(1) << 20;

// The receptive field of the graph's outputs with respect to graph input `input` ([N,C,H,W]).
// DynamicQuantizeLinear counts as sample by sample: its scale comes from the whole tensor it sees, so a
// dynamic-int8 model quantizes each tile on its own (as ONNX Runtime does on each input it is given).
ReceptiveField receptive_field(const Graph& g, const std::string& input);

}  // namespace tinyqat
