#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/json_dump.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "runtime/int8_speed.h"

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
    // What the runtime's int8-versus-fp32 choice reads (runtime/int8_speed.h).
    const KernelPath path = kernel_path();
    const double ms = predicted_run_ms(m, path);
    std::string out;
    if (*json) {
      auto j = nlohmann::ordered_json::parse(summary_json(s));
      j["kernel_path"] = kernel_path_name(path);
      j["predicted_run_ms"] = ms;
      out = json_dump(j, 2) + "\n";
    } else {
      out = summary_text(s) +
            fmt::format("predicted run: {:.4g} ms on 1 thread ({} kernels; declared shapes, free dims 1)\n",
                        ms, kernel_path_name(path));
    }
    if (*nodes) out += "nodes:\n" + nodes_text(m);
    std::fputs(out.c_str(), stdout);
    return 0;
  };
}

}  // namespace tinyqat::cli
