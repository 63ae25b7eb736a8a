// `tinyqat bench`: latency of one model on the runtime, like onnxruntime_perf_test (inputs made from the
// model's own shapes when none are given, percentiles, thread sweeps, per-node profile, Chrome trace), so
// that the numbers in docs/benchmarks.md can be reproduced (tools/ort/ort_bench.js is the ORT side).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file_util.h"
#include "core/json_dump.h"
#include "io/model_data.h"
#include "ir/node_macs.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/latency.h"
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

// NAME=V of --dim: the value of a symbolic dimension.
std::map<std::string, int64_t> parse_dims(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> dims;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    const std::string v = eq == std::string::npos ? "" : spec.substr(eq + 1);
    TQ_CHECK(eq != std::string::npos && eq > 0 && !v.empty() && v.size() < 12 &&
                 v.find_first_not_of("0123456789") == std::string::npos && std::stoll(v) > 0,
             "--dim '{}': expected NAME=V with V a positive integer (e.g. N=1)", spec);
    dims[spec.substr(0, eq)] = std::stoll(v);
  }
  return dims;
}

// An input no --input/--shape gave, made from its declared shape: symbolic dimensions from --dim
// (1 when not given, as onnxruntime_perf_test does); floats from the generator, other types zeros.
Tensor made_input(const ValueInfo& in, const std::map<std::string, int64_t>& dims, uint32_t& state) {
  TQ_CHECK(in.has_shape, "input '{}' has no declared shape: give it with --input or --shape", in.name);
  Shape shape;
  for (const Dim& d : in.shape) {
    if (d.is_known()) {
      shape.push_back(d.value);
      continue;
    }
    auto it = dims.find(d.param);
    shape.push_back(it == dims.end() ? 1 : it->second);
  }
  if (in.dtype == DType::F32) return lcg_tensor(shape, state);
  return Tensor::zeros(in.dtype, shape);
}

// Multiply-accumulates per run of every node that does them, by node name, at the shapes of the feeds
// (the executor's fused nodes keep the name of their Conv/Gemm/MatMul).
std::map<std::string, NodeMacs> macs_by_node(Model model, const NamedTensors& feeds) {
  for (ValueInfo& in : model.graph.inputs)
    for (const auto& [name, t] : feeds)
      if (name == in.name) {
        in.has_shape = true;
        in.shape.clear();
        for (int64_t d : t.shape()) in.shape.push_back(Dim::known(d));
      }
  model.graph.value_info.clear();
  infer_shapes(model);
  std::map<std::string, NodeMacs> macs;
  for (const Node& n : model.graph.nodes)
    if (const NodeMacs m = node_macs(model.graph, n); m.macs > 0) macs[n.name] = m;
  return macs;
}

}  // namespace

std::function<int()> add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Measure a model's latency on the tinyqat runtime");
  struct Opts {
    std::string model, trace, parallel = "auto";
    std::vector<std::string> inputs, shapes, dims;
    std::vector<int> threads{1};
    int iterations = 100, warmup = 10;
    bool json = false, profile = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("model", o->model, "ONNX model file")->required();
  sub->add_option(
      "--input,-i", o->inputs,
      "FILE.npz (arrays named after the inputs), FILE.npy (a single-input model) or NAME=FILE.npy; "
      "repeatable");
  sub->add_option("--shape", o->shapes, "NAME=DxDx... : fill an input with deterministic data in [0,1)");
  sub->add_option("--dim", o->dims,
                  "NAME=V : a symbolic dimension's value for the inputs made from the model's shapes (those "
                  "no --input/--shape gives; free dimensions are 1 otherwise)");
  sub->add_option("--threads", o->threads, "Worker threads (0: all cores); a list (1,2,4) sweeps them")
      ->delimiter(',')
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  sub->add_option("--parallel", o->parallel,
                  "With threads > 1: auto (measure whether splitting operators over the threads or running "
                  "them all on the calling thread is faster, per input shape), pool or caller (force one)")
      ->check(CLI::IsMember({"auto", "pool", "caller"}))
      ->capture_default_str();
  sub->add_option("--iterations", o->iterations, "Timed runs")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  sub->add_option("--warmup", o->warmup,
                  "Untimed runs first (with --parallel auto and threads > 1, more until the session has "
                  "chosen its run mode: settle_runs in the JSON)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  sub->add_flag("--json", o->json,
                "Print one JSON object (a sweep: {model, sweep: [one object per thread count]}; with "
                "--profile the per-node times are in it)");
  sub->add_flag("--profile", o->profile,
                "Also print the time per node (share of the timed runs; GMAC/s for Conv/MatMul/Gemm nodes)");
  sub->add_option("--trace", o->trace,
                  "Write a Chrome trace (chrome://tracing, Perfetto): one event per node per timed run");
  return [o] {
    const Model model = import_onnx(o->model);
    const std::map<std::string, int64_t> dims = parse_dims(o->dims);
    for (const auto& [name, v] : dims) {
      bool used = false;
      for (const ValueInfo& in : model.graph.inputs)
        for (const Dim& d : in.shape) used = used || (!d.is_known() && d.param == name);
      TQ_CHECK(used, "--dim {}: no input of {} has a dimension named '{}'", name, o->model, name);
    }
    NamedTensors feeds = read_model_data(o->inputs, names_of(model.graph.inputs), "--input",
                                         /*require_all=*/!o->inputs.empty() && o->shapes.empty())
                             .inputs;
    uint32_t state = 0x2545f491u;
    for (const auto& spec : o->shapes) {
      auto eq = spec.find('=');
      TQ_CHECK(eq != std::string::npos, "--shape '{}': expected NAME=DxD...", spec);
      feeds.emplace_back(spec.substr(0, eq), lcg_tensor(parse_shape(spec.substr(eq + 1), "--shape"), state));
    }
    for (const ValueInfo& in : model.graph.inputs) {
      const bool given =
          std::any_of(feeds.begin(), feeds.end(), [&](const auto& f) { return f.first == in.name; });
      if (!given) feeds.emplace_back(in.name, made_input(in, dims, state));
    }
    const bool per_node = o->profile || !o->trace.empty();
    nlohmann::ordered_json trace_events = nlohmann::ordered_json::array();
    nlohmann::ordered_json sweep = nlohmann::ordered_json::array();
    std::string text;
    const std::map<std::string, NodeMacs> macs =
        o->profile ? macs_by_node(model, feeds) : std::map<std::string, NodeMacs>{};
    auto macs_of = [&](const NodeProfile& p) {
      auto it = macs.find(p.node);
      return it == macs.end() ? NodeMacs{} : it->second;
    };
    for (size_t k = 0; k < o->threads.size(); ++k) {
      const Parallel parallel = o->parallel == "pool"     ? Parallel::Pool
                                : o->parallel == "caller" ? Parallel::Caller
                                                          : Parallel::Auto;
      Executor ex(model, ExecutorOptions{o->threads[k], per_node, !o->trace.empty(), parallel});
      const Latency st = time_runs(ex, feeds, o->warmup, o->iterations);  // the profile covers the timed runs
      const int threads_used = ThreadPool::resolve_threads(o->threads[k]);
      const auto profile = ex.profile();
      double total = 0;
      for (const auto& p : profile) total += p.total_ms;
      auto per_run = [](const NodeProfile& p) { return p.total_ms / std::max<int64_t>(p.runs, 1); };
      if (!o->trace.empty()) {
        // One process per thread count; events in µs since the executor was built, run index in args.
        const auto events = ex.node_events();
        const size_t nodes = events.size() / static_cast<size_t>(o->iterations);
        trace_events.push_back(
            {{"name", "process_name"},
             {"ph", "M"},
             {"pid", k + 1},
             {"args", {{"name", fmt::format("tinyqat bench, threads {}", threads_used)}}}});
        for (size_t e = 0; e < events.size(); ++e)
          trace_events.push_back(
              {{"name", events[e].node},
               {"cat", events[e].op_type},
               {"ph", "X"},
               {"ts", events[e].start_us},
               {"dur", events[e].dur_us},
               {"pid", k + 1},
               {"tid", 1},
               {"args", {{"op_type", events[e].op_type}, {"run", nodes ? e / nodes : 0}}}});
      }
      nlohmann::ordered_json j;
      j["model"] = o->model;
      j["threads"] = o->threads[k];
      j["threads_used"] = threads_used;
      j["parallel"] = o->parallel;
      std::vector<Shape> shapes;
      for (const ValueInfo& vi : model.graph.inputs)
        for (const auto& [name, t] : feeds)
          if (name == vi.name) shapes.push_back(t.shape());
      const char* run_mode = ex.run_mode(shapes) == ThreadPool::RunMode::Caller ? "caller" : "pool";
      j["run_mode"] = run_mode;  // what the timed runs ended on
      j["iterations"] = o->iterations;
      j["warmup"] = o->warmup;
      j["settle_runs"] = st.settle_runs;  // warm-up runs added while --parallel auto measured
      j["isa"] = isa_name(cpu_isa());
      j["median_ms"] = st.median;
      j["min_ms"] = st.min;
      j["mean_ms"] = st.mean;
      j["p50_ms"] = st.median;
      j["p90_ms"] = st.p90;
      j["p99_ms"] = st.p99;
      j["max_ms"] = st.max;
      j["stddev_ms"] = st.stddev;
      j["throughput_per_s"] = 1000.0 / st.median;
      nlohmann::ordered_json in = nlohmann::ordered_json::object();
      for (const auto& [name, t] : feeds) {
        std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
        in[name] = shape;
      }
      j["inputs"] = in;
      if (o->profile) {
        nlohmann::ordered_json prof = nlohmann::ordered_json::array();
        for (const auto& p : profile) {
          nlohmann::ordered_json e = {{"node", p.node},
                                      {"op_type", p.op_type},
                                      {"ms_per_run", per_run(p)},
                                      {"share", p.total_ms / std::max(total, 1e-9)}};
          if (const NodeMacs m = macs_of(p); m.macs > 0) {
            e["macs"] = m.macs;
            e["mac_family"] = mac_family_name(m.family);
            e["gmacs_per_s"] = m.macs / std::max(per_run(p), 1e-12) * 1e-6;
          }
          prof.push_back(e);
        }
        j["profile"] = prof;
      }
      sweep.push_back(j);
      text += fmt::format(
          "{}  threads {} ({})  iterations {}  isa {}\nmedian: {:.3f} ms  min: {:.3f} ms  mean: {:.3f} ms  "
          "throughput: {:.1f} runs/s\np50: {:.3f} ms  p90: {:.3f} ms  p99: {:.3f} ms  max: {:.3f} ms  "
          "stddev: "
          "{:.3f} ms\n",
          o->model, threads_used, run_mode, o->iterations, isa_name(cpu_isa()), st.median, st.min, st.mean,
          1000.0 / st.median, st.median, st.p90, st.p99, st.max, st.stddev);
      if (o->profile)
        for (const auto& p : profile) {
          const double m = macs_of(p).macs;
          text += fmt::format("  {:<32} {:<20} {:8.3f} ms/run  {:5.1f}%{}\n", p.node, p.op_type, per_run(p),
                              100.0 * p.total_ms / std::max(total, 1e-9),
                              m > 0 ? fmt::format("  {:7.1f} GMAC/s", m / std::max(per_run(p), 1e-12) * 1e-6)
                                    : std::string());
        }
    }
    if (!o->trace.empty()) {
      nlohmann::ordered_json doc;
      doc["traceEvents"] = trace_events;
      doc["displayTimeUnit"] = "ms";
      write_file_atomic(o->trace, json_dump(doc) + "\n");
    }
    if (o->json) {  // one JSON object on one line
      nlohmann::ordered_json out =
          sweep.size() == 1 ? sweep[0] : nlohmann::ordered_json{{"model", o->model}, {"sweep", sweep}};
      std::printf("%s\n", json_dump(out).c_str());
    } else {
      std::fputs(text.c_str(), stdout);
    }
    return 0;
  };
}

}  // namespace tinyqat::cli
