// The command line as a whole: `tinyqat help [COMMAND]`, mistyped commands (the list of commands and a
// did-you-mean, exit 2), options a mode would ignore (an error naming the option, nothing written), and
// one default for quantization everywhere, shown by --help.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "onnx/onnx_io.h"
#include "quant/qconfig.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

const std::vector<std::string> kCommands = {"inspect", "run",     "zoo",      "bench",
                                            "ptq",     "compare", "data",     "registry",
                                            "measure", "resolve", "quantize", "frames"};

TEST(Cli, HelpListsEveryCommandAndShowsEachCommandsHelp) {
  fs::path dir = temp_dir("cli-help");
  CliResult r = cli("help", dir);
  EXPECT_EQ(r.code, 0) << r.err;
  for (const auto& c : kCommands)
    EXPECT_NE(r.out.find("  " + c + " "), std::string::npos) << c << "\n" << r.out;
  for (const auto& c : kCommands) {
    CliResult h = cli("help " + c, dir), h2 = cli(c + " --help", dir);
    EXPECT_EQ(h.code, 0) << c << ": " << h.err;
    EXPECT_EQ(h.out, h2.out) << c << ": `help " << c << "` and `" << c << " --help` differ";
  }
  r = cli("help registry add", dir);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--onnx"), std::string::npos) << r.out;
  // Defaults are shown: the mode, the quantization preset and what it stands for, thread counts.
  r = cli("help ptq", dir);
  for (const char* want : {"--mode TEXT:{dynamic,static}=static", "--preset TEXT:{default,seed}=default",
                           "the preset's, mse", "the preset's, asymmetric", "=99.999"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  r = cli("help quantize", dir);
  for (const char* want : {"the preset's, mse", "--qat-epochs INT:INT in [1 - 10000]=10", "--threads"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  EXPECT_NE(cli("help bench", dir).out.find("=100"), std::string::npos);
}

// docs/decisions/0005-cli-startup.md: `tinyqat` (the runtime commands) links neither LibTorch nor OpenCV
// (they cost ~0.3 s of loading before main); commands and options that need them (compare --plot:
// Clipping.ComparePlotsSqnrPerNode) run in tinyqat-train.
TEST(Cli, RuntimeExecutableLoadsNeitherLibTorchNorOpenCV) {
  fs::path dir = temp_dir("cli-ldd");
  const fs::path out = dir / "ldd.txt";
  const int rc = std::system(fmt::format("ldd '{}/tinyqat' >'{}' 2>&1", TQ_BINARY_DIR, out.string()).c_str());
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    std::printf("SKIP: ldd is not available here\n");
    return;
  }
  const std::string libs = text_of(out);
  // Library names, not bare words: ldd's load addresses are random hex ("…7fc10…" once matched "c10").
  for (const char* lib : {"libopencv", "libtorch", "libc10", "libgdal"})
    EXPECT_EQ(libs.find(lib), std::string::npos) << lib << " in\n" << libs;
  EXPECT_LE(std::count(libs.begin(), libs.end(), '\n'), 20) << libs;
}

TEST(Cli, MistypedCommandsSuggestAndListTheCommands) {
  fs::path dir = temp_dir("cli-typo");
  CliResult r = cli("mesure --all", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'mesure'. Did you mean 'measure'?"), std::string::npos) << r.err;
  for (const auto& c : kCommands)
    EXPECT_NE(r.err.find("  " + c + " "), std::string::npos) << c << "\n" << r.err;
  r = cli("quantise m.onnx", dir);
  EXPECT_NE(r.err.find("Did you mean 'quantize'?"), std::string::npos) << r.err;
  r = cli("registry valdate r.json", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown 'registry' command 'valdate'. Did you mean 'validate'?"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  show "), std::string::npos) << r.err;
  r = cli("help nothing-like-it", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.find("Did you mean"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("  inspect "), std::string::npos) << r.err;
  r = cli("help data filter-pair", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Did you mean 'filter-pairs'?"), std::string::npos) << r.err;
}

// Every combination where a command would have ignored an option: exit 2, the option named, nothing written.
TEST(Cli, OptionsAModeIgnoresAreRefused) {
  fs::path dir = temp_dir("cli-unused");
  const std::string m = (dir / "lf.onnx").string(), data = (dir / "x.npz").string(),
                    out = (dir / "out.onnx").string(), reg = (dir / "r.json").string();
  export_onnx(zoo::learned_filter(1, 8, 2, 5), m);
  write_npz(data, {{"degraded", luma_images(4, 32, 32, 1)}}, false);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ptq " + m + " -o " + out + " --mode dynamic --method mse", "--method: not used with --mode dynamic"},
      {"ptq " + m + " -o " + out + " --mode dynamic --activations symmetric", "--activations: not used"},
      {"ptq " + m + " -o " + out + " --mode dynamic --calibration " + data, "--calibration: not used"},
      {"ptq " + m + " -o " + out + " --mode dynamic --samples 4", "--samples: not used"},
      {"ptq " + m + " -o " + out + " --mode dynamic --preset seed", "--preset: not used"},
      {"ptq " + m + " -o " + out + " --calibration " + data + " --percentile 99.9",
       "--percentile: not used with --method mse"},
      {"ptq " + m + " -o " + out + " --mode dynamic --kind nr", "--kind requires --register"},
      {"quantize " + m + " --budget 0.1 --data " + data + " -o " + out + " --method minmax",
       "--method: not used without --calibration"},
      {"quantize " + m + " --budget 0.1 --data " + data + " -o " + out + " --qat-epochs 2",
       "--qat-epochs: not used"},
      {"quantize " + m + " --budget 0.1 --data " + data + " --calibration " + data + " -o " + out +
           " --no-qat --qat-epochs 2",
       "--qat-epochs: not used with --no-qat"},
      {"quantize " + m + " --budget 0.1 --data " + data + " -o " + out + " --license MIT",
       "--license requires --register"},
      {"zoo mlp -o " + out + " --width 8", "--width: not used with mlp"},
      {"zoo nr_metric -o " + out + " --num-blocks 2", "--num-blocks: not used with nr_metric"},
      {"zoo learned_filter -o " + out + " --example-size 64",
       "--example-size: not used without --example-input"},
      {"registry add " + reg + " --id lf --onnx " + m + " --threads 2", "--threads requires --eval"},
      {"inspect " + m + " --json --nodes", "--json excludes --nodes"},
  };
  for (const auto& [args, want] : cases) {
    CliResult r = cli(args, dir);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_NE(r.err.find(want), std::string::npos) << args << "\nwant: " << want << "\ngot: " << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
    EXPECT_FALSE(fs::exists(reg)) << args;
  }
  // measure: data for a model that is not measured.
  ASSERT_EQ(cli(fmt::format("registry add {} --id lf --onnx {} --license MIT", reg, m), dir).code, 0);
  ASSERT_EQ(cli(fmt::format("registry add {} --id other --onnx {} --license MIT", reg, m), dir).code, 0);
  CliResult r = cli(fmt::format("measure lf --registry {} --data {} --data other={}", reg, data, data), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'other' is not among the models measured"), std::string::npos) << r.err;
}

std::map<std::string, std::string> metadata(const std::string& path) {
  Model q = import_onnx(path);
  return {q.metadata.begin(), q.metadata.end()};
}

// One default: QConfig{}, `ptq` without --method/--activations (quantize: its --help, above) and the
// trainer's config (tests/train) all mean the preset "default"; the seed's symmetric preset is reachable
// by name.
TEST(Cli, OneQuantizationDefaultAndTheSeedPresetByName) {
  const quant::QConfig def, named = quant::preset("default"), seed = quant::preset("seed");
  EXPECT_EQ(def.activations, quant::kDefaultActivations);
  EXPECT_EQ(def.method, quant::kDefaultMethod);
  EXPECT_EQ(named.activations, def.activations);
  EXPECT_EQ(named.method, def.method);
  EXPECT_EQ(seed.activations, quant::ActScheme::Symmetric);
  EXPECT_EQ(seed.method, quant::CalibMethod::MinMax);
  EXPECT_THROW(quant::preset("fbgemm"), Error);

  fs::path dir = temp_dir("cli-defaults");
  const std::string m = (dir / "lf.onnx").string(), data = (dir / "x.npz").string();
  export_onnx(zoo::learned_filter(1, 8, 2, 5), m);
  write_npz(data, {{"degraded", luma_images(6, 32, 32, 2)}}, false);
  auto qconfig_of = [&](const std::string& args, const std::string& out) {
    CliResult r = cli(args, dir);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
    return metadata(out)["tinyqat.qconfig"];
  };
  const std::string want_default =
      fmt::format("activations={},method={}", quant::name(def.activations), quant::name(def.method));
  const std::string a = (dir / "a.onnx").string(), b = (dir / "b.onnx").string(),
                    c = (dir / "c.onnx").string();
  EXPECT_NE(qconfig_of(fmt::format("ptq {} --calibration {} -o {}", m, data, a), a).find(want_default),
            std::string::npos);
  EXPECT_NE(qconfig_of(fmt::format("ptq {} --calibration {} -o {} --preset seed", m, data, b), b)
                .find("activations=symmetric,method=minmax"),
            std::string::npos);
  EXPECT_NE(qconfig_of(fmt::format("ptq {} --calibration {} -o {} --preset seed --method mse", m, data, c), c)
                .find("activations=symmetric,method=mse"),
            std::string::npos);
  // The static PTQ file of the default equals the one with the default spelled out.
  const std::string spelled = (dir / "spelled.onnx").string();
  ASSERT_EQ(cli(fmt::format("ptq {} --calibration {} -o {} --method {} --activations {}", m, data, spelled,
                            quant::name(def.method), quant::name(def.activations)),
                dir)
                .code,
            0);
  EXPECT_EQ(text_of(a), text_of(spelled));
}

// `bench` reads like onnxruntime_perf_test: inputs made from the model's own shapes (free dimensions
// from --dim), percentiles and standard deviation, a --threads sweep, one valid JSON document also with
// --profile, and a Chrome trace with one event per node per timed run.
TEST(Cli, BenchLikeOnnxruntimePerfTest) {
  fs::path dir = temp_dir("cli-bench");
  const std::string m = (dir / "mlp.onnx").string();
  ASSERT_EQ(cli(fmt::format("zoo mlp -o {}", m), dir).code, 0);
  const Model model = import_onnx(m);
  ASSERT_EQ(model.graph.inputs.size(), 1u);
  const ValueInfo& in = model.graph.inputs[0];
  std::string free_dim;
  for (const Dim& d : in.shape)
    if (!d.is_known()) free_dim = d.param;
  ASSERT_FALSE(free_dim.empty()) << "the mlp's batch dimension is expected to be symbolic";

  // No --input: made from the declared shape, the free dimension 1 unless --dim sets it.
  CliResult r = cli(fmt::format("bench {} --iterations 7 --warmup 1 --json", m), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"p50_ms", "p90_ms", "p99_ms", "stddev_ms", "min_ms", "max_ms", "mean_ms"})
    ASSERT_TRUE(j.contains(k)) << k << "\n" << r.out;
  EXPECT_LE(j["min_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_LE(j["p50_ms"].get<double>(), j["p90_ms"].get<double>());
  EXPECT_LE(j["p90_ms"].get<double>(), j["p99_ms"].get<double>());
  EXPECT_LE(j["p99_ms"].get<double>(), j["max_ms"].get<double>());
  EXPECT_GE(j["stddev_ms"].get<double>(), 0.0);
  EXPECT_EQ(j["iterations"], 7);
  std::vector<int64_t> shape;
  for (const Dim& d : in.shape) shape.push_back(d.is_known() ? d.value : 1);
  EXPECT_EQ(j["inputs"][in.name].get<std::vector<int64_t>>(), shape) << r.out;
  r = cli(fmt::format("bench {} --iterations 2 --warmup 0 --json --dim {}=5", m, free_dim), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  for (size_t i = 0; i < in.shape.size(); ++i)
    if (!in.shape[i].is_known()) shape[i] = 5;
  EXPECT_EQ(nlohmann::json::parse(r.out)["inputs"][in.name].get<std::vector<int64_t>>(), shape) << r.out;
  r = cli(fmt::format("bench {} --dim nosuchdim=3", m), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--dim nosuchdim: no input of"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = cli(fmt::format("bench {} --dim {}=0", m, free_dim), dir);
  EXPECT_EQ(r.code, 2) << r.err;

  // A sweep: one entry per thread count, in the order given.
  r = cli(fmt::format("bench {} --iterations 3 --warmup 0 --threads 1,2 --json", m), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["sweep"].size(), 2u) << r.out;
  EXPECT_EQ(j["sweep"][0]["threads"], 1);
  EXPECT_EQ(j["sweep"][1]["threads"], 2);
  r = cli(fmt::format("bench {} --iterations 3 --warmup 0 --threads 1,2", m), dir);
  EXPECT_NE(r.out.find("threads 2"), std::string::npos) << r.out;

  // --profile keeps the output one JSON document; --trace writes one event per node per timed run.
  const std::string trace = (dir / "trace.json").string();
  r = cli(fmt::format("bench {} --iterations 4 --warmup 2 --json --profile --trace {}", m, trace), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);  // throws (fails the test) when text follows the object
  ASSERT_TRUE(j["profile"].is_array()) << r.out;
  const size_t nodes = j["profile"].size();
  ASSERT_GT(nodes, 2u);
  auto t = nlohmann::json::parse(text_of(trace));
  ASSERT_TRUE(t["traceEvents"].is_array());
  std::map<std::string, int> per_node;
  for (const auto& e : t["traceEvents"])
    if (e["ph"] == "X") {
      ++per_node[e["name"].get<std::string>()];
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      EXPECT_TRUE(e.contains("ts") && e.contains("pid") && e.contains("tid"));
    }
  EXPECT_EQ(per_node.size(), nodes);
  for (const auto& p : j["profile"]) EXPECT_EQ(per_node[p["node"].get<std::string>()], 4) << p.dump();
  // A path that needs escaping stays valid JSON.
  const std::string odd = (dir / "a \"quoted\" name.onnx").string();
  fs::copy_file(m, odd);
  r = cli(fmt::format("bench '{}' --iterations 1 --warmup 0 --json", odd), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["model"], odd);
}

}  // namespace
}  // namespace tinyqat::test
