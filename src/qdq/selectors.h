// Which node groups quantize as a unit — the selectors, in ONNX Runtime's words — written once and read
// by two actions: the quantizer's plan (src/quant/ptq_static.cpp `plan_static`: which tensors get a
// QuantizeLinear → DequantizeLinear pair on an fp32 graph) and the runtime's QDQ fusion
// (src/runtime/fuse_qdq.cpp: which DequantizeLinear → op → QuantizeLinear groups become integer ops).
//
// The definition of a unit lives in the first section and is form-free: the op table (`pattern_of`),
// what a weighted op requires (`weighted_op_axis`: Gemm without transA, alpha = beta = 1, a 2-D weight,
// a per-output bias; the weight's output-channel axis per op) and which activation fuses into it
// (`fused_activation`). The two sections after it find the same units on the two forms a graph takes:
// fp32 (what the plan reads) and QDQ (what the plan wrote and the runtime reads). Adding a pattern is an
// entry in `pattern_of` plus its rule here; both actions pick it up.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace tinyqat::qdq {

// ---------------------------------------------------------------- the definition (form-free)

enum class Pattern {
  None,          // no int8 form here: stays float (and is reported)
  WeightedUnit,  // Conv / Gemm / MatMul with constant weights (+ bias) (+ Relu/Clip)
  BinaryAdd,     // Add of two computed tensors (residual adds)
  Pool,          // MaxPool / AveragePool / GlobalAveragePool / ReduceMean after a quantized tensor
  PassThrough,   // Reshape / Flatten / Squeeze / Unsqueeze / Identity: output tied to the input
  Concat,        // all inputs quantized: every input and the output share one scale
  NoData,        // Constant / Shape / Gather: read no activation values, never quantized, never reported
};
struct OpPattern {
  Pattern pattern = Pattern::None;
  bool ties = false;  // output shares the input's parameters (MaxPool, pass-through ops, Concat)
};
// The pattern a node starts, by op type (default domain only).
OpPattern pattern_of(const Node& n);

// What a weighted op (Conv, Gemm, MatMul) requires of its attributes and operands, whatever form the
// weight takes: given the weight's shape and the bias's element count (-1: no bias), the weight's
// output-channel axis (Conv 0; Gemm transB = 1: 0; MatMul and Gemm transB = 0, weight [K, N]: 1), or
// nullopt with `why`.
std::optional<int64_t> weighted_op_axis(const Node& n, const Shape& weight, int64_t bias_numel,
                                        std::string* why);

// The Relu / Clip (bounds known when the graph is built, activation_bounds) that fuses into the unit
// whose output is `v`: v's only reader, v not a graph output. -1 when there is none.
int fused_activation(const Graph& g, const std::string& v);

// An initializer or a Constant node's output.
bool is_constant(const Graph& g, const std::string& value);

// ---------------------------------------------------------------- the fp32 form (the plan reads it)

// A weighted unit on an fp32 graph.
struct WeightedUnit {
  int node = -1;                    // Conv / Gemm / MatMul
  int activation = -1;              // Relu / Clip fused into the unit, or -1
  int64_t weight_axis = 0;          // output-channel axis of the weight tensor
  std::string input, weight, bias;  // bias "" when absent
  std::string op_output;            // the op's own output (pre-activation)
  std::string output;               // the unit's output (after the activation)
};
// The weighted unit rooted at node i (float initializer weight and bias, computed input), or nullopt
// with `why` set.
std::optional<WeightedUnit> select_weighted_unit(const Graph& g, int i, std::string* why);

// What one node of an fp32 graph contributes to the plan, given which activations are quantized so far.
struct Fp32Selection {
  Pattern pattern = Pattern::None;  // None: the node stays float
  std::optional<WeightedUnit> unit;
  std::vector<std::string> quantize;                      // activations to quantize, in order
  std::vector<std::pair<std::string, std::string>> ties;  // (a, b): b shares a's parameters
  bool counts_as_quantized = false;                       // listed as a quantized node in reports
  std::string why;                                        // pattern None: why the node stays float
  bool silent = false;                                    // pattern None: not worth reporting
};
Fp32Selection select_fp32(const Graph& g, int i, const std::function<bool(const std::string&)>& quantized);

// ---------------------------------------------------------------- the QDQ form (the runtime reads it)

// A DequantizeLinear that feeds a value, with constant parameters.
struct Dq {
  int node = -1;
  std::string q, scale, zero_point;  // its inputs ("" zero point when omitted)
  int64_t axis = 1;
};
// v's producer when it is a default-domain DequantizeLinear whose scale (and zero point) are initializers.
std::optional<Dq> dequantized(const Graph& g, const std::string& v);
// A float scalar scale and a one-value zero point (or none), both initializers.
bool scalar_params(const Graph& g, const std::string& scale, const std::string& zero_point);
// Two scalar parameter sets with equal scale, zero-point type and zero-point value.
bool same_params(const Graph& g, const std::string& s1, const std::string& z1, const std::string& s2,
                 const std::string& z2);
// v's only reader (v is not a graph output) when it is a QuantizeLinear with scalar parameters.
int quantized_by(const Graph& g, const std::string& v);

// DequantizeLinear(x) and DequantizeLinear(int8 weight) (and DequantizeLinear(int32 bias at scale
// x_s·w_s)) → Conv / Gemm / MatMul → QuantizeLinear.
struct QdqWeightedUnit {
  int node = -1;
  Dq x, w;
  std::optional<Dq> b;
  int q = -1;               // the QuantizeLinear of the op's output
  int64_t weight_axis = 0;  // as weighted_op_axis
};
std::optional<QdqWeightedUnit> select_qdq_weighted_unit(const Graph& g, int i, std::string* why);

// DequantizeLinear(a), DequantizeLinear(b) → Add → QuantizeLinear, computed inputs of one known shape and
// one 8-bit type (the integer add has no broadcasting).
struct QdqBinaryAdd {
  int node = -1;
  Dq a, b;
  int q = -1;
};
std::optional<QdqBinaryAdd> select_qdq_binary_add(const Graph& g, int i, std::string* why);

// After a quantized value `v` with parameters (scale, zero_point): DequantizeLinear → the fused
// activation (fused_activation) → QuantizeLinear with the same parameters — a clamp in the integer domain.
struct QdqClamp {
  int dq = -1, activation = -1, q = -1;
  float lo = 0, hi = 0;
};
std::optional<QdqClamp> select_qdq_clamp(const Graph& g, const std::string& v, const std::string& scale,
                                         const std::string& zero_point);

}  // namespace tinyqat::qdq
