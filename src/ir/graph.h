// The graph IR at the centre of tinyqat. Front-ends (ONNX import, model zoo) build it, back-ends (ONNX
// export, runtime, trainer) consume it, passes rewrite it. It mirrors ONNX closely on purpose: nodes
// name their inputs and outputs by value name, constants are initializers, dims may be symbolic.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace tinyqat {

// A dimension: a known size, a named symbol ("N", "batch"), or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string param;   // symbolic name when value < 0 (may be empty: unknown)
  static Dim known(int64_t v) { return Dim{v, {}}; }
  static Dim symbol(std::string s) { return Dim{-1, std::move(s)}; }
  bool is_known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && param == o.param; }
  std::string str() const;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::F32;
  bool has_shape = false;  // false: rank unknown
  std::vector<Dim> shape;
  std::string shape_str() const;
};

struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Strings, Tensor };
  Kind kind = Kind::Int;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  tinyqat::Tensor t;

  static Attribute of_int(int64_t v);
  static Attribute of_float(float v);
  static Attribute of_string(std::string v);
  static Attribute of_ints(std::vector<int64_t> v);
  static Attribute of_floats(std::vector<float> v);
  static Attribute of_tensor(tinyqat::Tensor v);
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;               // "" = ai.onnx
  std::vector<std::string> inputs;  // "" = omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;  // sorted: stable export

  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t get_int(const std::string& a, int64_t def) const;
  float get_float(const std::string& a, float def) const;
  std::string get_string(const std::string& a, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& a, std::vector<int64_t> def = {}) const;
  // Input i if present and non-empty.
  std::optional<std::string> input(size_t i) const;
  std::string describe() const;  // "Conv 'conv1'"
};

struct Graph {
  std::string name = "tinyqat";
  std::vector<ValueInfo> inputs;  // graph inputs (initializers are not listed here)
  std::vector<ValueInfo> outputs;
  std::vector<Node> nodes;  // topologically sorted after import and after every pass
  std::map<std::string, Tensor> initializers;
  std::map<std::string, ValueInfo> value_info;  // inferred types/shapes of intermediate values

  const Tensor* initializer(const std::string& name) const;
  bool is_graph_input(const std::string& name) const;
  bool is_graph_output(const std::string& name) const;
  bool has_node(const std::string& name) const;  // a node of that name
  // Producer node index of a value, or -1 for graph inputs / initializers / unknown.
  int producer(const std::string& value) const;
  std::vector<int> consumers(const std::string& value) const;
  // Reorders nodes topologically; throws Error on a cycle or a value nobody produces.
  void topo_sort();
  // A fresh value or node name with the given prefix, unique in this graph.
  std::string unique_name(const std::string& prefix) const;
  // Renames value `from` to `to` wherever nodes, graph inputs and graph outputs name it (shapes are
  // not re-inferred).
  void rename_value(const std::string& from, const std::string& to);
};

struct Model {
  Graph graph;
  int64_t ir_version = 8;
  int64_t opset = 17;                                         // the default-domain opset
  std::vector<std::pair<std::string, int64_t>> extra_opsets;  // other domains, e.g. com.microsoft
  std::string producer_name = "tinyqat";
  std::string producer_version;
  std::string domain;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props, in order
};

// Type and shape inference for every op import accepts (ir/op_list.h; the rules are in
// ir/shape_rules_<family>.cpp). Fills graph.value_info and refines graph.outputs. Values whose shape
// cannot be derived keep has_shape=false; unknown ops are an Error.
void infer_shapes(Model& model);

// The tensor a Constant node produces (value, value_float(s), value_int(s)).
Tensor constant_node_value(const Node& n);

// The value of a float scalar known before any run: an initializer or a Constant node's output with one
// float32 element (its rank, which broadcasting sees, in *rank). nullopt for anything computed at run time.
std::optional<float> scalar_constant(const Graph& g, const std::string& value, size_t* rank = nullptr);

// The clamp a Relu or Clip applies, [lo, hi] (an omitted Clip bound is ∓inf). Clip bounds are read
// from the min/max inputs (opset ≥ 11: float scalars that are initializers or Constant nodes) or the
// min/max attributes (opset < 11). nullopt when the node is neither or a bound is computed at run
// time. The one reader of activation bounds: quantization patterns, runtime fusion and the trainer.
std::optional<std::pair<float, float>> activation_bounds(const Graph& g, const Node& n);

}  // namespace tinyqat
