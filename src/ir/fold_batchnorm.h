// Inference BatchNormalization folded into the Conv, ConvTranspose or Gemm that produces its input:
// y = (x − mean)·γ/√(var + ε) + β on the op's output channels is the op with its weights scaled per
// output channel by k = γ/√(var + ε) and its bias b replaced by (b − mean)·k + β. Done where every
// parameter is a float32 initializer, the op's output has the BatchNormalization as its only reader and is
// not a graph output; anything else is left as it is. One definition for the runtime (before its
// activation fusion) and the post-training quantizers (so that a unit's int8 output is the normalised,
// activated one, not the wide pre-normalisation one). Values are computed in double, rounded once.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyqat {

// Folds every foldable BatchNormalization; returns the names of those folded (graph order). The folded
// op takes the BatchNormalization's output name; its new weight and bias are fresh initializers (a weight
// another node also reads is left untouched), and initializers nobody reads any more are dropped.
std::vector<std::string> fold_batchnorm(Graph& g);

}  // namespace tinyqat
