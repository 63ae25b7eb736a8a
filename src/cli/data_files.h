// Reading a data set for a model: a .npz with one array per input (samples on axis 0), or a .npy
// when the model has a single input.
#pragma once
#include <string>

#include "core/error.h"
#include "io/npy.h"
#include "ir/graph.h"

namespace tinyqat::cli {

inline NamedTensors read_model_data(const std::string& path, const Model& m, const char* flag) {
  if (path.size() > 4 && path.substr(path.size() - 4) == ".npy") {
    TQ_CHECK(m.graph.inputs.size() == 1, "{} {}: a .npy serves single-input models only; use .npz", flag,
             path);
    return {{m.graph.inputs[0].name, read_npy(path)}};
  }
  return read_npz(path);
}

}  // namespace tinyqat::cli
