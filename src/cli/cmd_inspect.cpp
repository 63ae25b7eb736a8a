#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"

namespace tinyqat::cli {

std::function<int()> add_inspect(CLI::App& app) {
  auto* sub =
      app.add_subcommand("inspect", "Show a model's inputs, outputs, ops, parameters and quantization");
  auto model = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto nodes = std::make_shared<bool>(false);
  sub->add_option("model", *model, "ONNX model file")->required();
  sub->add_flag("--json", *json, "Print JSON instead of text");
  auto* nodes_flag = sub->add_flag("--nodes", *nodes,
                                   "Also list every node with its input/output shapes and attributes (text)");
  nodes_flag->excludes("--json");
  return [model, json, nodes] {
    Model m = import_onnx(*model);
    ModelSummary s = summarize(m);
    std::string out = *json ? summary_json(s) + "\n" : summary_text(s);
    if (*nodes) out += "nodes:\n" + nodes_text(m);
    std::fputs(out.c_str(), stdout);
    return 0;
  };
}

}  // namespace tinyqat::cli
