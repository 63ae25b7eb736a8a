// Model zoo front-end: the fork's architectures built straight into the IR (inference graphs with
// deterministic initial weights). The trainer builds the same graphs from trained parameters.
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace tinyqat::zoo {

// learned_filter: Conv3x3(c→w) → blocks × [Conv3x3 → ReLU → Conv3x3, + skip] → Conv3x3(w→c);
// out = clamp(x + residual, 0, 1). Input "degraded" [N,c,H,W] (dynamic N, H, W).
Model learned_filter(int64_t channels, int64_t width, int64_t num_blocks, uint64_t seed);

}  // namespace tinyqat::zoo
