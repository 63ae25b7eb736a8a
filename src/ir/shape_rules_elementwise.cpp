// Shape rules: activations, normalisation, Softmax (output = input) and the broadcasting binary ops.
#include "core/error.h"
#include "ir/shape_rules.h"

namespace tinyqat::shape_rules {
namespace {

Out same_as_input(Ctx& c, const Node& n) {
  return {c.in(n, 0)};
}

// X, scale, B, mean, var: all five required.
Out batch_norm(Ctx& c, const Node& n) {
  for (size_t i = 1; i < 5; ++i) c.in(n, i);
  return {c.in(n, 0)};
}

Out binary(Ctx& c, const Node& n) {
  const auto& a = c.in(n, 0);
  const auto& b = c.in(n, 1);
  TQ_CHECK(a.dtype == b.dtype, "{}: input types {} and {} differ", n.describe(), dtype_name(a.dtype),
           dtype_name(b.dtype));
  return {broadcast(a.dtype, a, b, n)};
}

}  // namespace

void register_elementwise(Rules& r) {
  for (const char* op :
       {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Identity", "Clip", "Softmax"})
    r[op] = same_as_input;
  r["BatchNormalization"] = batch_norm;
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) r[op] = binary;
}

}  // namespace tinyqat::shape_rules
