// `tinyqat bench`: latency of one model on the runtime, printed like onnxruntime_perf_test so that the
// numbers in docs/benchmarks.md can be reproduced (tools/ort/ort_bench.js is the ORT side).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/thread_pool.h"

namespace tinyqat::cli {

namespace {
// The same generator as tools/ort/ort_bench.js (Numerical Recipes LCG, seed 0x2545f491), so --shape
// feeds both runtimes identical data.
Tensor lcg_tensor(const Shape& shape, uint32_t& s) {
  Tensor t = Tensor::empty(DType::F32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data<float>()[i] = static_cast<float>(static_cast<double>(s) / 4294967296.0);
  }
  return t;
}

}  // namespace

std::function<int()> add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Measure a model's latency on the tinyqat runtime");
  struct Opts {
    std::string model;
    std::vector<std::string> inputs, shapes;
    int threads = 1, iterations = 100, warmup = 10;
    bool json = false, profile = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model file")->required();
  sub->add_option(
      "--input,-i", o->inputs,
      "FILE.npz (arrays named after the inputs), FILE.npy (a single-input model) or NAME=FILE.npy; "
      "repeatable");
  sub->add_option("--shape", o->shapes, "NAME=DxDx... : fill an input with deterministic data in [0,1)");
  sub->add_option("--threads", o->threads, "Worker threads (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  sub->add_option("--iterations", o->iterations, "Timed runs")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Untimed runs first")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object (with --profile: the per-node times in it)");
  sub->add_flag("--profile", o->profile, "Also print the time per node (median run share)");
  return [o] {
    Executor ex(import_onnx(o->model), ExecutorOptions{o->threads, o->profile});
    NamedTensors feeds =
        read_model_data(o->inputs, names_of(ex.inputs()), "--input", /*require_all=*/o->shapes.empty())
            .inputs;
    uint32_t state = 0x2545f491u;
    for (const auto& spec : o->shapes) {
      auto eq = spec.find('=');
      TQ_CHECK(eq != std::string::npos, "--shape '{}': expected NAME=DxD...", spec);
      feeds.emplace_back(spec.substr(0, eq), lcg_tensor(parse_shape(spec.substr(eq + 1), "--shape"), state));
    }
    TQ_CHECK(!feeds.empty(),
             "give each model input with --input FILE.npz|NAME=FILE.npy or --shape NAME=DxD...");
    for (int i = 0; i < o->warmup; ++i) ex.run(feeds);
    std::vector<double> ms(o->iterations);
    for (int i = 0; i < o->iterations; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      ex.run(feeds);
      ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    // Percentiles interpolate between neighbours (numpy's default), so p50 is the median.
    auto pct = [&](double q) {
      const double pos = q / 100.0 * static_cast<double>(n - 1);
      const size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, n - 1);
      return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
    };
    double median = pct(50);
    double p90 = pct(90), p99 = pct(99);
    double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / n;
    double var = 0;
    for (double v : ms) var += (v - mean) * (v - mean);
    double stddev = n > 1 ? std::sqrt(var / static_cast<double>(n - 1)) : 0.0;
    const int threads_used = ThreadPool::resolve_threads(o->threads);
    double total = 0;
    for (const auto& p : ex.profile()) total += p.total_ms;
    auto per_run = [](const NodeProfile& p) { return p.total_ms / std::max<int64_t>(p.runs, 1); };
    if (o->json) {  // one JSON object on one line; with --profile it holds the per-node times too
      std::string line = fmt::format(
          "{{\"model\": {}, \"threads\": {}, \"iterations\": {}, \"median_ms\": {:.4f}, \"min_ms\": {:.4f}, "
          "\"mean_ms\": {:.4f}, \"isa\": \"{}\", \"p50_ms\": {:.4f}, \"p90_ms\": {:.4f}, \"p99_ms\": {:.4f}, "
          "\"max_ms\": {:.4f}, \"stddev_ms\": {:.4f}, \"threads_used\": {}",
          nlohmann::json(o->model).dump(), o->threads, o->iterations, median, sorted[0], mean,
          isa_name(cpu_isa()), median, p90, p99, sorted[n - 1], stddev, threads_used);
      if (o->profile) {
        nlohmann::ordered_json prof = nlohmann::ordered_json::array();
        for (const auto& p : ex.profile())
          prof.push_back({{"node", p.node},
                          {"op_type", p.op_type},
                          {"ms_per_run", per_run(p)},
                          {"share", p.total_ms / std::max(total, 1e-9)}});
        line += ", \"profile\": " + prof.dump();
      }
      std::printf("%s}\n", line.c_str());
      return 0;
    }
    std::printf(
        "%s  threads %d  iterations %d  isa %s\nmedian: %.3f ms  min: %.3f ms  mean: %.3f ms  throughput: "
        "%.1f runs/s\np50: %.3f ms  p90: %.3f ms  p99: %.3f ms  max: %.3f ms  stddev: %.3f ms\n",
        o->model.c_str(), threads_used, o->iterations, isa_name(cpu_isa()), median, sorted[0], mean,
        1000.0 / median, median, p90, p99, sorted[n - 1], stddev);
    for (const auto& p : ex.profile())
      std::printf("  %-32s %-20s %8.3f ms/run  %5.1f%%\n", p.node.c_str(), p.op_type.c_str(), per_run(p),
                  100.0 * p.total_ms / std::max(total, 1e-9));
    return 0;
  };
}

}  // namespace tinyqat::cli
