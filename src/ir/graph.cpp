#include "ir/graph.h"

#include <algorithm>
#include <limits>
#include <queue>
#include <set>
#include <unordered_map>

#include "core/error.h"

namespace tinyqat {

std::string Dim::str() const {
  if (is_known()) return std::to_string(value);
  return param.empty() ? "?" : param;
}

std::string ValueInfo::shape_str() const {
  if (!has_shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';  // appended apart: GCC 12's -Wrestrict misfires on "," + string
    s += shape[i].str();
  }
  return s + "]";
}

Attribute Attribute::of_int(int64_t v) {
  Attribute a;
  a.kind = Kind::Int;
  a.i = v;
  return a;
}
Attribute Attribute::of_float(float v) {
  Attribute a;
  a.kind = Kind::Float;
  a.f = v;
  return a;
}
Attribute Attribute::of_string(std::string v) {
  Attribute a;
  a.kind = Kind::String;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Kind::Ints;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::vector<float> v) {
  Attribute a;
  a.kind = Kind::Floats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(tinyqat::Tensor v) {
  Attribute a;
  a.kind = Kind::Tensor;
  a.t = std::move(v);
  return a;
}

int64_t Node::get_int(const std::string& a, int64_t def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  TQ_CHECK(it->second.kind == Attribute::Kind::Int, "{}: attribute '{}' must be an int", describe(), a);
  return it->second.i;
}

float Node::get_float(const std::string& a, float def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  if (it->second.kind == Attribute::Kind::Int) return static_cast<float>(it->second.i);
  TQ_CHECK(it->second.kind == Attribute::Kind::Float, "{}: attribute '{}' must be a float", describe(), a);
  return it->second.f;
}

std::string Node::get_string(const std::string& a, const std::string& def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  TQ_CHECK(it->second.kind == Attribute::Kind::String, "{}: attribute '{}' must be a string", describe(), a);
  return it->second.s;
}

std::vector<int64_t> Node::get_ints(const std::string& a, std::vector<int64_t> def) const {
  auto it = attrs.find(a);
  if (it == attrs.end()) return def;
  TQ_CHECK(it->second.kind == Attribute::Kind::Ints, "{}: attribute '{}' must be a list of ints", describe(),
           a);
  return it->second.ints;
}

std::optional<std::string> Node::input(size_t i) const {
  if (i < inputs.size() && !inputs[i].empty()) return inputs[i];
  return std::nullopt;
}

std::string Node::describe() const {
  return fmt::format("{} node '{}'", op_type, name);
}

const Tensor* Graph::initializer(const std::string& n) const {
  auto it = initializers.find(n);
  return it == initializers.end() ? nullptr : &it->second;
}

bool Graph::is_graph_input(const std::string& n) const {
  for (const auto& v : inputs)
    if (v.name == n) return true;
  return false;
}

bool Graph::is_graph_output(const std::string& n) const {
  for (const auto& v : outputs)
    if (v.name == n) return true;
  return false;
}

int Graph::producer(const std::string& value) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (o == value) return static_cast<int>(i);
  return -1;
}

std::vector<int> Graph::consumers(const std::string& value) const {
  std::vector<int> r;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& in : nodes[i].inputs)
      if (in == value) {
        r.push_back(static_cast<int>(i));
        break;
      }
  return r;
}

void Graph::topo_sort() {
  std::unordered_map<std::string, int> producer_of;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs) {
      if (o.empty()) continue;
      TQ_CHECK(!producer_of.count(o) && !initializers.count(o) && !is_graph_input(o),
               "value '{}' is produced more than once (second time by {})", o, nodes[i].describe());
      producer_of[o] = static_cast<int>(i);
    }
  // Kahn's algorithm, taking ready nodes in their original order so the result is stable.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<int> deps;
    for (const auto& in : nodes[i].inputs) {
      if (in.empty()) continue;
      auto it = producer_of.find(in);
      if (it != producer_of.end()) {
        deps.insert(it->second);
      } else {
        TQ_CHECK(initializers.count(in) || is_graph_input(in),
                 "{} reads value '{}' which no node, input or initializer provides", nodes[i].describe(), in);
      }
    }
    pending[i] = static_cast<int>(deps.size());
    for (int d : deps) users[d].push_back(static_cast<int>(i));
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    sorted.push_back(nodes[i]);
    for (int u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  TQ_CHECK(sorted.size() == nodes.size(), "graph '{}' has a cycle", name);
  nodes = std::move(sorted);
}

bool Graph::has_node(const std::string& name) const {
  return std::any_of(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == name; });
}

void Graph::rename_value(const std::string& from, const std::string& to) {
  for (auto& n : nodes) {
    for (auto& v : n.inputs)
      if (v == from) v = to;
    for (auto& v : n.outputs)
      if (v == from) v = to;
  }
  for (auto& v : inputs)
    if (v.name == from) v.name = to;
  for (auto& v : outputs)
    if (v.name == from) v.name = to;
}

std::string Graph::unique_name(const std::string& prefix) const {
  std::set<std::string> used;
  for (const auto& n : nodes) {
    used.insert(n.name);
    for (const auto& o : n.outputs) used.insert(o);
  }
  for (const auto& [k, v] : initializers) used.insert(k);
  for (const auto& v : inputs) used.insert(v.name);
  if (!used.count(prefix)) return prefix;
  for (int i = 1;; ++i) {
    std::string c = prefix + "_" + std::to_string(i);
    if (!used.count(c)) return c;
  }
}

}  // namespace tinyqat

namespace tinyqat {

std::optional<float> scalar_constant(const Graph& g, const std::string& value, size_t* rank) {
  Tensor t;
  if (const Tensor* init = g.initializer(value)) {
    t = *init;
  } else if (int p = g.producer(value);
             p >= 0 && g.nodes[p].op_type == "Constant" && g.nodes[p].domain.empty()) {
    t = constant_node_value(g.nodes[p]);
  } else {
    return std::nullopt;  // computed at run time
  }
  if (t.dtype() != DType::F32 || t.numel() != 1) return std::nullopt;
  if (rank) *rank = t.shape().size();
  return t.data<float>()[0];
}

std::optional<std::pair<float, float>> activation_bounds(const Graph& g, const Node& n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (!n.domain.empty()) return std::nullopt;
  if (n.op_type == "Relu") return std::pair{0.f, kInf};
  if (n.op_type != "Clip") return std::nullopt;
  std::pair<float, float> b{n.get_float("min", -kInf), n.get_float("max", kInf)};
  for (size_t i = 1; i <= 2; ++i) {
    if (!n.input(i)) continue;
    const std::optional<float> v = scalar_constant(g, *n.input(i));
    if (!v) return std::nullopt;
    (i == 1 ? b.first : b.second) = *v;
  }
  return b;
}

}  // namespace tinyqat
