#include "ir/builder.h"

#include "core/error.h"

namespace tinyqat {

GraphBuilder::GraphBuilder(std::string name, int64_t opset) {
  model_.graph.name = std::move(name);
  model_.opset = opset;
  model_.producer_name = "tinyqat";
}

std::string GraphBuilder::input(const std::string& name, DType t, std::initializer_list<D> dims) {
  ValueInfo v;
  v.name = name;
  v.dtype = t;
  v.has_shape = true;
  for (const auto& d : dims) v.shape.push_back(d.dim);
  model_.graph.inputs.push_back(v);
  return name;
}

std::string GraphBuilder::constant(const std::string& name, Tensor t) {
  TQ_CHECK(!model_.graph.initializers.count(name), "initializer '{}' defined twice", name);
  model_.graph.initializers[name] = std::move(t);
  return name;
}

std::vector<std::string> GraphBuilder::node(const std::string& op, std::vector<std::string> inputs,
                                            std::vector<std::pair<std::string, Attribute>> attrs,
                                            int n_outputs) {
  Node n;
  n.op_type = op;
  n.name = fmt::format("{}_{}", op, counter_++);
  n.inputs = std::move(inputs);
  for (auto& [k, v] : attrs) n.attrs[k] = std::move(v);
  for (int i = 0; i < n_outputs; ++i)
    n.outputs.push_back(n_outputs == 1 ? n.name : fmt::format("{}_{}", n.name, i));
  model_.graph.nodes.push_back(n);
  return n.outputs;
}

void GraphBuilder::output(const std::string& value, const std::string& name) {
  std::string final_name = value;
  if (!name.empty() && name != value) {
    model_.graph.rename_value(value, name);
    final_name = name;
  }
  ValueInfo v;
  v.name = final_name;
  model_.graph.outputs.push_back(v);
}

Model GraphBuilder::finish() {
  model_.graph.topo_sort();
  infer_shapes(model_);
  return model_;
}

}  // namespace tinyqat
