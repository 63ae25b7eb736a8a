// Runtime-only rewrites done once when an Executor is built (never exported): an inference
// BatchNormalization is folded into the Conv/ConvTranspose/Gemm before it (ir/fold_batchnorm.h), fp32
// Conv absorbs a following residual Add (no broadcasting), and Conv and Gemm absorb a following
// Relu/Clip, so each output is written once. GELU written out in its erf form (Div, Erf, Add, Mul, Mul)
// becomes one runtime-internal Gelu node.
#pragma once
#include "ir/graph.h"

namespace tinyqat {

// Attribute names the fused Conv carries.
inline constexpr const char* kFusedAdd = "tinyqat.fused_add";  // input 3 is added to the output
inline constexpr const char* kActMin = "tinyqat.act_min";
inline constexpr const char* kActMax = "tinyqat.act_max";
// The fused GELU (erf form), domain "": ONNX's own Gelu (opset 20, approximate = "none") computes the same.
inline constexpr const char* kGelu = "Gelu";

void fuse_for_runtime(Graph& g);

// QDQ patterns (what static PTQ and QAT export) → QLinearConv / QLinearMatMul with fused clamps, so
// that quantized graphs run on integer kernels. Runs before fuse_for_runtime.
void fuse_qdq_for_runtime(Graph& g);

}  // namespace tinyqat
