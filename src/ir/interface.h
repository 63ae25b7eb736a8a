// A model's interface as a caller sees it: the graph inputs (initializers excluded) and outputs, in order,
// with their names, dtypes and shapes. An int8 twin must keep its fp32 model's interface (a quantized
// model still takes and gives float tensors): the registry refuses a twin that does not (add, --register,
// validate) and the runtimes fall back to fp32 (registry/resolve.h, vmafdnn). Defined once, here.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyqat {

struct Interface {
  std::vector<ValueInfo> inputs, outputs;
};

Interface interface_of(const Graph& g);

// Why `other` does not present `want`'s interface, or nothing when it does. Same number, order and names
// of inputs and outputs; same dtypes; where both declare a rank, the same rank and per dimension the same
// size, the same symbol, or both free (no size, no symbol). A value whose rank is not declared on either
// side is not compared by shape.
std::optional<std::string> interface_difference(const Interface& want, const Interface& other);

}  // namespace tinyqat
