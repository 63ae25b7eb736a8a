// Model zoo front-end: the fork's architectures built straight into the IR (inference graphs with
// deterministic initial weights). The trainer starts from these graphs and writes trained ones back.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyqat::zoo {

// learned_filter: Conv3x3(c→w) → blocks × [Conv3x3 → ReLU → Conv3x3, + skip] → Conv3x3(w→c);
// out = clamp(x + residual, 0, 1). Input "degraded" [N,c,H,W] (dynamic N, H, W), output "filtered".
Model learned_filter(int64_t channels, int64_t width, int64_t num_blocks, uint64_t seed);

// nr_metric: stem Conv3x3 s2 (no bias) + BatchNormalization + ReLU6, then 5 depthwise-separable blocks
// [DW Conv3x3 (groups=C) + BN + ReLU6, PW Conv1x1 + BN + ReLU6], widths w→2w→2w→4w→4w→8w, strides
// 2,1,2,1,2, global average pool, Linear(8w→1). Input "frame" [N,c,H,W], output "mos" [N].
Model nr_metric(int64_t in_channels, int64_t width, uint64_t seed);

// unet: a small U-Net, for the runtime and int8 on a topology none of the fork's models has: two encoder
// stages [Conv3x3 + ReLU] × 2 then MaxPool 2×2, a middle pair, two decoder stages ConvTranspose 2×2 s2
// (upsampling) → Concat with the encoder's skip → [Conv3x3 + ReLU] × 2, Conv1x1(w→1) → Sigmoid. Widths
// w, 2w, 4w. Input "image" [N,c,H,W] (H, W multiples of 4), output "mask" [N,1,H,W]. An inference fixture:
// the trainer does not train ConvTranspose.
Model unet(int64_t in_channels, int64_t width, uint64_t seed);

// mlp: (x − mean) / std baked in as Sub/Div, hidden Linear layers with ReLU or GELU (Erf form), a
// Linear(→1) head. Input "features" [N,in], output "score" [N]. mean/std: one value per feature.
Model mlp(int64_t in_features, const std::vector<int64_t>& hidden, const std::string& activation,
          const std::vector<float>& input_mean, const std::vector<float>& input_std, uint64_t seed);

// fr_regressor (the fork's C1 FR regressor): depth × [Linear(→hidden) → GELU (Erf form) → Dropout], then
// Linear(→1); no input standardisation. Input "features" [N,in], output "vmaf" [N] (the names of the fork's
// shipped fr files). Dropout is not a graph op (an exported model has none, as PyTorch exports it in eval
// mode): the model's metadata kDropoutKey lists where the trainer drops activations while training.
Model fr_regressor(int64_t in_features, int64_t hidden, int64_t depth, double dropout, uint64_t seed);
constexpr const char* kDropoutKey = "tinyqat.train.dropout";  // "P@value,value,..."

// An architecture argument as written in a config: numbers (a scalar is a list of one) or a word.
struct Arg {
  std::vector<double> numbers;
  std::string text;
  bool is_text = false;
};
using Args = std::map<std::string, Arg>;

// The architecture `kind` ("learned_filter", "nr_metric", "mlp", "fr_regressor") with the fork's argument
// names; missing arguments take the fork's defaults. An unknown kind or argument, or a bad value, is an Error
// that names it and lists what is accepted.
Model build(const std::string& kind, const Args& args, uint64_t seed);
std::vector<std::string> kinds();

}  // namespace tinyqat::zoo
