// The one reader of "these tensor files feed this model's inputs", used by every command that takes data
// for a model (run, bench, ptq, compare, measure, quantize) so that they all accept the same things.
// A spec is one of
//   FILE.npz       arrays named after the model's inputs; any other arrays (labels, clean targets) are
//                  kept apart as `others`, so a labelled evaluation set feeds a model as it is
//   FILE.npy       the input of a single-input model
//   NAME=FILE.npy  the input NAME
// The model is given by its input names (io knows files, not graphs).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/npy.h"

namespace tinyqat {

struct ModelData {
  NamedTensors inputs;  // one array per model input given, in the model's input order
  NamedTensors others;  // with read_others: arrays of .npz files that name no input, in file order
  std::vector<std::string> other_names;  // without read_others: their names (not inflated, not parsed)
  NamedTensors all() const;              // inputs, then others (for measurements against a target array)
};

// Errors name `flag` and the file: an unknown input NAME, an input given twice, a .npy for a model with
// several inputs, a .npz without arrays and, with `require_all`, an input no file gives ("no array named
// 'x'").
// Arrays of a .npz that name no input are read only with `read_others` (else only listed in
// other_names: a member that is not used is never inflated).
ModelData read_model_data(const std::vector<std::string>& specs, const std::vector<std::string>& inputs,
                          const std::string& flag, bool require_all = true, bool read_others = false);
// The names of a model's inputs (Graph::inputs, Executor::inputs()) in the order the reader wants them.
template <class ValueInfos>
std::vector<std::string> names_of(const ValueInfos& values) {
  std::vector<std::string> names;
  for (const auto& v : values) names.push_back(v.name);
  return names;
}

// One FILE (.npz or .npy) whose bytes are already read (the gate digests the bytes it measures on).
ModelData parse_model_data(const std::vector<uint8_t>& bytes, const std::string& path,
                           const std::vector<std::string>& inputs, const std::string& flag);

}  // namespace tinyqat
