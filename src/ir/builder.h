// Building graphs in code: used by the model zoo, the quantization passes and the test fixtures.
#pragma once
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace tinyqat {

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name = "tinyqat", int64_t opset = 17);

  // Dims: a number, or a symbol name for a dynamic dim ("N").
  struct D {
    D(int64_t v) : dim(Dim::known(v)) {}       // NOLINT: implicit by design
    D(const char* s) : dim(Dim::symbol(s)) {}  // NOLINT
    Dim dim;
  };
  std::string input(const std::string& name, DType t, std::initializer_list<D> dims);
  std::string constant(const std::string& name, Tensor t);  // an initializer
  // Adds a node; returns its outputs (n_outputs fresh names derived from the node name).
  std::vector<std::string> node(const std::string& op, std::vector<std::string> inputs,
                                std::vector<std::pair<std::string, Attribute>> attrs = {}, int n_outputs = 1);
  std::string op(const std::string& op, std::vector<std::string> inputs,
                 std::vector<std::pair<std::string, Attribute>> attrs = {}) {
    return node(op, std::move(inputs), std::move(attrs))[0];
  }
  // Marks a value as a graph output, optionally renaming it everywhere (call after its last use).
  void output(const std::string& value, const std::string& name = "");
  Model finish();  // topological sort + shape inference
  Model& model() { return model_; }

 private:
  Model model_;
  int counter_ = 0;
};

}  // namespace tinyqat
