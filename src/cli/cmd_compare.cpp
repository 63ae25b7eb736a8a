#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"

namespace tinyqat::cli {

std::function<int()> add_compare(CLI::App& app) {
  auto* sub =
      app.add_subcommand("compare", "Measure a quantized model against its fp32 original on evaluation data");
  struct Opts {
    std::string fp32, quantized, data, target;
    bool json = false, per_layer = false;
    int threads = 1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("fp32", o->fp32, "fp32 ONNX model")->required();
  sub->add_option("quantized", o->quantized, "quantized ONNX model")->required();
  sub->add_option("--data", o->data,
                  "EVAL.npz: one array per model input, samples on axis 0, other arrays kept for --target; "
                  "FILE.npy or NAME=FILE.npy for a single-input model")
      ->required();
  sub->add_option("--target", o->target,
                  "Array in EVAL.npz to compare both models against (labels, clean images)");
  sub->add_flag("--per-layer", o->per_layer,
                "SQNR and error of every quantized tensor against the fp32 graph");
  sub->add_flag("--json", o->json, "Print JSON");
  sub->add_option("--threads", o->threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return [o] {
    Model a = import_onnx(o->fp32), b = import_onnx(o->quantized);
    NamedTensors data =
        read_model_data({o->data}, names_of(a.graph.inputs), "--data", true, /*read_others=*/true).all();
    quant::Comparison c;
    try {
      c = quant::compare_models(a, b, data, {o->per_layer, o->target, o->threads});
    } catch (const Error& e) {
      fail("{}: {}", o->data, e.what());
    }
    std::string s = o->json ? quant::comparison_json(c) + "\n" : quant::comparison_text(c);
    std::fputs(s.c_str(), stdout);
    return 0;
  };
}

}  // namespace tinyqat::cli
