#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "zoo/zoo.h"

namespace tinyqat::cli {

std::function<int()> add_zoo(CLI::App& app) {
  auto* sub =
      app.add_subcommand("zoo", "Write a model-zoo architecture as an fp32 ONNX file (deterministic init)");
  struct Opts {
    std::string arch, out, example;
    std::vector<std::string> args;
    int64_t channels = 1, width = 16, blocks = 4, size = 224;
    uint64_t seed = 0;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option(
         "arch", o->arch,
         "Architecture: learned_filter, nr_metric, mlp, fr_regressor (defaults: the fork's) or unet (an "
         "inference fixture: ConvTranspose, MaxPool, Concat skips)")
      ->required()
      ->check(CLI::IsMember(zoo::kinds()));
  sub->add_option("--output,-o", o->out, "ONNX file to write")->required();
  auto* channels = sub->add_option("--channels", o->channels,
                                   "Image channels (learned_filter, nr_metric; unet: 3 unless given)")
                       ->check(CLI::Range(1, 64))
                       ->capture_default_str();
  auto* width = sub->add_option("--width", o->width, "Feature width (learned_filter, nr_metric, unet)")
                    ->check(CLI::Range(1, 1024))
                    ->capture_default_str();
  auto* blocks = sub->add_option("--num-blocks", o->blocks, "Residual blocks (learned_filter)")
                     ->check(CLI::Range(0, 64))
                     ->capture_default_str();
  sub->add_option(
      "--arg", o->args,
      "An architecture argument by the fork's name (model_args in a config): NAME=VALUE, a list as "
      "NAME=a,b,c (e.g. --arg hidden=32 --arg depth=3); overrides the flags above");
  sub->add_option("--seed", o->seed, "Initialisation seed")->capture_default_str();
  auto* example =
      sub->add_option("--example-input", o->example,
                      "Also write a synthetic frame [1,C,S,S] as .npy (learned_filter, nr_metric, unet)");
  auto* size = sub->add_option("--example-size", o->size, "Side S of the example frame")
                   ->check(CLI::Range(8, 4096))
                   ->capture_default_str();
  return [o, channels, width, blocks, example, size] {
    const bool image = o->arch == "learned_filter" || o->arch == "nr_metric" || o->arch == "unet";
    if (o->arch == "unet" && channels->count() == 0) o->channels = 3;
    if (!image)
      refuse_unused(
          {channels, width, blocks, example},
          fmt::format("with {} (features in, no image; --arg NAME=VALUE sets its arguments)", o->arch));
    if (o->arch == "nr_metric" || o->arch == "unet")
      refuse_unused({blocks}, fmt::format("with {} (no residual blocks)", o->arch));
    if (o->example.empty()) refuse_unused({size}, "without --example-input");
    zoo::Args args;
    auto num = [](double v) { return zoo::Arg{{v}, "", false}; };
    if (o->arch == "learned_filter")
      args = {{"channels", num(double(o->channels))},
              {"width", num(double(o->width))},
              {"num_blocks", num(double(o->blocks))}};
    else if (o->arch == "nr_metric" || o->arch == "unet")
      args = {{"in_channels", num(double(o->channels))}, {"width", num(double(o->width))}};
    for (const std::string& kv : o->args) {
      const size_t eq = kv.find('=');
      TQ_CHECK(eq != std::string::npos && eq > 0, "--arg '{}': expected NAME=VALUE", kv);
      zoo::Arg a;
      const std::string v = kv.substr(eq + 1);
      try {
        for (size_t b = 0; b <= v.size();) {
          const size_t e = std::min(v.find(',', b), v.size());
          size_t used = 0;
          const std::string item = v.substr(b, e - b);
          a.numbers.push_back(std::stod(item, &used));
          TQ_CHECK(used == item.size(), "not a number");
          b = e + 1;
        }
      } catch (const std::exception&) {
        a = zoo::Arg{{}, v, true};
      }
      args[kv.substr(0, eq)] = a;
    }
    Model m = zoo::build(o->arch, args, o->seed);
    export_onnx(m, o->out);
    std::fprintf(stderr, "wrote %s (%s, %zu nodes)\n", o->out.c_str(), o->arch.c_str(), m.graph.nodes.size());
    if (!o->example.empty()) {
      const int64_t s = o->size;
      Tensor t = Tensor::empty(DType::F32, {1, o->channels, s, s});
      float* p = t.data<float>();
      for (int64_t c = 0; c < o->channels; ++c)
        for (int64_t y = 0; y < s; ++y)
          for (int64_t x = 0; x < s; ++x) {
            // Smooth shading, a hard edge and fine texture: the kinds of content a luma filter sees.
            float v = 0.35f + 0.3f * x / s + 0.15f * std::sin(0.09f * y) * std::cos(0.13f * x) +
                      (x > s / 2 ? 0.2f : 0.f) + 0.03f * std::sin(1.7f * x + 2.3f * y);
            p[(c * s + y) * s + x] = std::min(1.f, std::max(0.f, v));
          }
      write_npy(o->example, t);
      std::fprintf(stderr, "wrote %s [1,%ld,%ld,%ld]\n", o->example.c_str(), static_cast<long>(o->channels),
                   static_cast<long>(s), static_cast<long>(s));
    }
    return 0;
  };
}

}  // namespace tinyqat::cli
