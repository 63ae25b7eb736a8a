// What `tinyqat inspect` reports about a model: I/O, op histogram, parameters, quantization format.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace tinyqat {

struct ModelSummary {
  int64_t opset = 0, ir_version = 0;
  std::string producer;
  std::vector<ValueInfo> inputs, outputs;
  std::map<std::string, int> op_histogram;
  int64_t parameter_count = 0;  // elements of all initializers and Constant tensors
  int64_t parameter_bytes = 0;
  // "fp32", "dynamic" (DynamicQuantizeLinear + *Integer ops), "qdq" (Quantize/DequantizeLinear pairs),
  // "qoperator" (QLinear* ops); several may combine ("qdq+dynamic").
  std::string quantization;
  std::string weight_granularity;  // "per-channel", "per-tensor", "mixed" or "" (not quantized)
  std::vector<std::pair<std::string, std::string>> metadata;
};

ModelSummary summarize(const Model& m);
std::string summary_json(const ModelSummary& s);  // pretty-printed JSON
std::string summary_text(const ModelSummary& s);
// One line per node: op, name, input and output shapes (from shape inference), key attributes.
std::string nodes_text(const Model& m);

}  // namespace tinyqat
