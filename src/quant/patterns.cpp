#include "quant/patterns.h"

#include <set>

#include "core/version.h"

namespace tinyqat::quant {

void finish_quantized_graph(Model& m) {
  Graph& g = m.graph;
  std::set<std::string> used;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) used.insert(in);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = used.count(it->first) || g.is_graph_output(it->first) ? std::next(it) : g.initializers.erase(it);
  g.topo_sort();
  g.value_info.clear();
  infer_shapes(m);
  m.ir_version = 8;
  m.producer_name = "tinyqat";
  m.producer_version = kVersion;  // not the original producer's version under our name
}

}  // namespace tinyqat::quant
