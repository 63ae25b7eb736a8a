// Layers more than one zoo architecture builds the same way.
#pragma once
#include <string>

#include "ir/builder.h"

namespace tinyqat::zoo {

// GELU in its exact form, as PyTorch's nn.GELU exports it: x · ½ · (1 + erf(x / √2)).
inline std::string gelu_erf(GraphBuilder& b, const std::string& h) {
  auto e = b.op(
      "Erf",
      {b.op("Div", {h, b.constant(b.model().graph.unique_name("sqrt2"), Tensor::scalar_f32(1.41421356f))})});
  auto one = b.constant(b.model().graph.unique_name("one"), Tensor::scalar_f32(1.f));
  auto half = b.constant(b.model().graph.unique_name("half"), Tensor::scalar_f32(0.5f));
  return b.op("Mul", {b.op("Mul", {h, b.op("Add", {e, one})}), half});
}

}  // namespace tinyqat::zoo
