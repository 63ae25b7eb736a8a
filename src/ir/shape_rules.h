// Type and shape rules, one per op that import accepts (src/ir/op_list.h), registered by op family the way
// the runtime registers kernels: shape_rules_<family>.cpp each add theirs. infer_shapes (shape_inference.cpp)
// runs them in topological order. Symbolic dims (a dynamic batch) flow through; arithmetic on unknown dims
// yields unknown dims. The shape arithmetic itself lives in op_math.h, shared with the runtime.
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/op_math.h"

namespace tinyqat::shape_rules {

using Dims = std::vector<Dim>;
using Out = std::vector<ValueInfo>;  // one per node output

// What a rule sees: the types and shapes inferred so far, and the constant values (initializers and
// Constant outputs).
struct Ctx {
  Model& model;
  std::unordered_map<std::string, ValueInfo> vals;
  std::unordered_map<std::string, Tensor> consts;

  const ValueInfo& in(const Node& n, size_t i);     // a required input (an Error when absent or unknown)
  const Tensor* constant(const Node& n, size_t i);  // nullptr when input i is absent or not constant
};

using Rule = std::function<Out(Ctx&, const Node&)>;
using Rules = std::unordered_map<std::string, Rule>;

void register_elementwise(Rules& r);
void register_conv(Rules& r);
void register_matmul(Rules& r);
void register_pool(Rules& r);
void register_shape(Rules& r);
void register_quant(Rules& r);
const Rules& all();

// Helpers shared by the families.
Dims dims_of(const Shape& s);
ValueInfo make(DType t, Dims d);
ValueInfo unknown_shape(DType t);
// Numpy broadcasting of two inputs' shapes (an Error when they do not broadcast).
ValueInfo broadcast(DType t, const ValueInfo& a, const ValueInfo& b, const Node& n);
// A sliding window (Conv, pools): batch, `channels`, then one output size per kernel dim.
ValueInfo infer_window(const Node& n, const ValueInfo& x, const std::vector<int64_t>& kernel, Dim channels,
                       DType t);
// The kernel size of a Conv-like node: kernel_shape, or the weight's spatial dims.
std::vector<int64_t> weight_kernel(const Node& n, const ValueInfo& w);
ValueInfo infer_matmul(DType t, const ValueInfo& a, const ValueInfo& b, const Node& n);
// The axes attribute, or the constant axes input; *known = false when that input is computed at run time.
std::vector<int64_t> axes_of(Ctx& c, const Node& n, size_t input_index, bool* known);

}  // namespace tinyqat::shape_rules
