#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "io/model_data.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"

namespace tinyqat::cli {

std::function<int()> add_run(CLI::App& app) {
  auto* sub =
      app.add_subcommand("run", "Run a model on .npy/.npz inputs and write its outputs as .npy files");
  struct Opts {
    std::string model, out;
    std::vector<std::string> inputs;
    int threads = 1;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model file")->required();
  sub->add_option("--input,-i", o->inputs,
                  "FILE.npz (arrays named after the inputs; other arrays are ignored), FILE.npy (a "
                  "single-input model) or NAME=FILE.npy; repeatable")
      ->required();
  sub->add_option("--out,-o", o->out,
                  "Folder for the outputs (<output name>.npy each), or FILE.npz for one compressed archive")
      ->required();
  sub->add_option("--threads", o->threads, "Worker threads (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  return [o] {
    Executor ex(import_onnx(o->model), ExecutorOptions{o->threads});
    const ModelData data = read_model_data(o->inputs, names_of(ex.inputs()), "--input");
    std::vector<Tensor> outs = ex.run(data.inputs);
    const bool npz = o->out.size() > 4 && o->out.substr(o->out.size() - 4) == ".npz";
    if (npz) {
      NamedTensors arrays;
      for (size_t i = 0; i < outs.size(); ++i) arrays.emplace_back(ex.outputs()[i].name, outs[i]);
      write_npz(o->out, arrays, /*compress=*/true);
      std::fprintf(stderr, "wrote %s (%zu arrays)\n", o->out.c_str(), arrays.size());
      return 0;
    }
    std::filesystem::create_directories(o->out);
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string name = ex.outputs()[i].name;
      for (char& c : name)
        if (c == '/' || c == '\\') c = '_';
      std::string path = (std::filesystem::path(o->out) / (name + ".npy")).string();
      write_npy(path, outs[i]);
      std::fprintf(stderr, "wrote %s %s %s\n", path.c_str(), dtype_name(outs[i].dtype()),
                   shape_str(outs[i].shape()).c_str());
    }
    return 0;
  };
}

}  // namespace tinyqat::cli
