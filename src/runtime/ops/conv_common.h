// Shared by the float and integer convolution operators: attribute validation and geometry.
#pragma once
#include "ir/graph.h"
#include "ir/op_math.h"
#include "runtime/kernels/conv_geometry.h"

namespace tinyqat {

struct ConvSpec {
  int64_t N, Cin, M, group;  // batch, input channels, output channels, groups
  ConvGeometry g;            // per group
};

// Validates x [N,C,(H),W] against w [M, C/group, (KH), KW] and the node's attributes.
ConvSpec conv_spec(const Node& n, const Shape& x, const Shape& w);

}  // namespace tinyqat
