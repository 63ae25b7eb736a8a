// Runtime-only rewrites done once when an Executor is built (never exported): an inference
// BatchNormalization is folded into the Conv/ConvTranspose/Gemm before it (ir/fold_batchnorm.h), fp32
// Conv absorbs a following residual Add (no broadcasting), and Conv and Gemm absorb a following
// Relu/Clip, so each output is written once. GELU written out in its erf form (Div, Erf, Add, Mul, Mul)
// becomes one runtime-internal Gelu node. Last, on CPUs with the channels-last-rows conv, tensors
// passed only between such convs stay channels-last (kClIn, kClRes, kClOut).
#pragma once
#include "ir/graph.h"

namespace tinyqat {

// Attribute names the fused Conv carries.
inline constexpr const char* kFusedAdd = "tinyqat.fused_add";  // input 3 is added to the output
inline constexpr const char* kActMin = "tinyqat.act_min";
inline constexpr const char* kActMax = "tinyqat.act_max";
// Where a Conv's input (0), fused residual (3) or output is a channels-last image (N×H×W×C under its
// logical [N, C, H, W] shape): set by mark_channels_last between convs the channels-last-rows kernel
// (kernels/conv_cl_rows_f32.h) or the channels-last depthwise kernel (kernels/conv_dw_cl_f32.h) takes,
// when every reader of the tensor is such a conv; a depthwise conv gets both kClIn and kClOut or neither.
inline constexpr const char* kClIn = "tinyqat.cl_in";
inline constexpr const char* kClRes = "tinyqat.cl_res";
inline constexpr const char* kClOut = "tinyqat.cl_out";
// Whether this CPU's channels-last-rows kernel takes Conv node `n` with float weight `w` (M × C/group ×
// KH × KW) at any input size, in a chain or (between_planes) with planes on every side: the one reading of
// conv_cl_takes / conv_cl_takes_planes from a node's attributes, for the kernel's weight packing and
// routing and for mark_channels_last.
bool channels_last_rows_conv(const Node& n, const Tensor& w, bool between_planes = false);
// The same for the channels-last depthwise kernel (conv_dw_cl_takes from the node's attributes).
bool depthwise_channels_last_conv(const Node& n, const Tensor& w);
// The fused GELU (erf form), domain "": ONNX's own Gelu (opset 20, approximate = "none") computes the same.
inline constexpr const char* kGelu = "Gelu";

void fuse_for_runtime(Graph& g);

// QDQ patterns (what static PTQ and QAT export) → QLinearConv / QLinearMatMul with fused clamps, so
// that quantized graphs run on integer kernels. Runs before fuse_for_runtime.
void fuse_qdq_for_runtime(Graph& g);

}  // namespace tinyqat
