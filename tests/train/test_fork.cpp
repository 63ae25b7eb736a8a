// The fork's training configs, models and caches: every key of its config shape (our own YAML with the
// same keys, always on), its four files unchanged (../shared, SKIP without), the zoo against the fork's
// shipped models, and a feature cache as .parquet and .npz giving the same split and the same model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "support/parquet_support.h"
#include "support/test_support.h"
#include "train/config.h"
#include "train/trainable.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

double max_weight_diff(const Model& a, const Model& b);

fs::path write_yaml(const fs::path& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << text;
  return p;
}

// Our own file with every key the fork's four configs use (values differ from the fork's).
const char* kEveryForkKey = R"(# comments like the fork's
model: fr_regressor
model_args:
  in_features: 5
  hidden: 12
  depth: 3
  dropout: 0.25
  lr: 2.0e-3
  weight_decay: 3.0e-5
cache: ai/data/feats.parquet   # trailing comment
output: runs/every_key
epochs: 7
batch_size: 9
val_frac: 0.15
test_frac: 0.2
seed: 11
precision: "bf16-mixed"
qat:
  epochs_fp32: 4
  epochs_qat: 2
  lr_qat: 1.0e-5
  input_shape: [1, 5]
  input_name: feats
  output_name: score
)";

TEST(ForkConfig, EveryKeyOfTheForksShapeIsRead) {
  const fs::path dir = temp_dir("fork_keys");
  const train::TrainConfig c = train::load_config(write_yaml(dir, "c.yaml", kEveryForkKey).string());
  EXPECT_EQ(c.model, "fr_regressor");
  EXPECT_EQ(c.model_args.at("in_features").numbers, std::vector<double>{5});
  EXPECT_EQ(c.model_args.at("hidden").numbers, std::vector<double>{12});
  EXPECT_EQ(c.model_args.at("depth").numbers, std::vector<double>{3});
  EXPECT_EQ(c.model_args.at("dropout").numbers, std::vector<double>{0.25});
  EXPECT_FALSE(c.model_args.count("lr")) << "lr is the optimizer's, not the architecture's";
  EXPECT_DOUBLE_EQ(c.lr, 2e-3);
  EXPECT_DOUBLE_EQ(c.weight_decay, 3e-5);
  EXPECT_EQ(c.cache, "ai/data/feats.parquet");
  EXPECT_EQ(c.output_dir, "runs/every_key");
  EXPECT_EQ(c.epochs, 7);
  EXPECT_EQ(c.batch_size, 9);
  EXPECT_DOUBLE_EQ(c.val_frac, 0.15);
  EXPECT_DOUBLE_EQ(c.test_frac, 0.2);
  EXPECT_EQ(c.seed, 11u);
  EXPECT_EQ(c.precision, "bf16-mixed");
  EXPECT_EQ(c.qat.epochs_fp32, 4);
  EXPECT_EQ(c.qat.epochs_qat, 2);
  EXPECT_DOUBLE_EQ(c.qat.lr_qat, 1e-5);
  EXPECT_EQ(c.qat.input_shape, (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(c.qat.input_name, "feats");
  EXPECT_EQ(c.qat.output_name, "score");
  EXPECT_EQ(c.loss, "mse") << "fr_regressor's training_step loss";
  EXPECT_EQ(c.optimizer, "adamw");
  // The fork's module defaults where its config is silent: learned_filter passes no weight decay to
  // AdamW (torch's default 0.01), nr_metric and fr_regressor train with MSE.
  const train::TrainConfig f = train::load_config(
      write_yaml(dir, "f.yaml", "model: learned_filter\nmodel_args: {lr: 1.0e-4}\ncache: x.parquet\n")
          .string());
  EXPECT_DOUBLE_EQ(f.weight_decay, 0.01);
  EXPECT_EQ(f.loss, "l1");
  EXPECT_DOUBLE_EQ(f.lr, 1e-4);
  const train::TrainConfig n =
      train::load_config(write_yaml(dir, "n.yaml", "model: nr_metric\ncache: x.parquet\n").string());
  EXPECT_EQ(n.loss, "mse");
  EXPECT_DOUBLE_EQ(n.weight_decay, 1e-4);
  // Our own data: configs keep tinyqat's defaults.
  const train::TrainConfig o = train::load_config(
      write_yaml(dir, "o.yaml", "model: learned_filter\ndata: {train: t.npz, input: x, target: y}\n")
          .string());
  EXPECT_DOUBLE_EQ(o.weight_decay, 0);
  EXPECT_EQ(o.loss, "l1");
}

TEST(ForkConfig, BadKeysAndValuesNameTheKey) {
  const fs::path dir = temp_dir("fork_bad_keys");
  auto expect = [&](const std::string& yaml, const std::string& needle) {
    try {
      train::load_config(write_yaml(dir, "b.yaml", yaml).string());
      ADD_FAILURE() << "no error for:\n" << yaml;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind((dir / "b.yaml").string(), 0), 0u) << e.what();
    }
  };
  expect("model: fr_regressor\ncache: x.pq\ncahce: y\n", "cahce: unknown key");
  expect("model: fr_regressor\ncache: x.pq\nqat: {epoch_qat: 3}\n", "qat.epoch_qat: unknown key");
  expect("model: fr_regressor\ncache: x.pq\nprecision: 64-true\n", "precision: '64-true'");
  expect("model: fr_regressor\ncache: x.pq\nlr: 0.1\nmodel_args: {lr: 0.2}\n", "model_args.lr: given twice");
  expect("model: fr_regressor\ncache: x.pq\ndata: {train: t.npz, input: x, target: y}\n", "not both");
  expect("model: fr_regressor\ncache: x.pq\nval_frac: 0.5\ntest_frac: 0.5\n", "test_frac");
  expect("model: fr_regressor\n", "data: missing");
}

struct Run {
  int code;
  std::string err;
};

// The fork's files, read from ../shared as they are (never copied into the project).
fs::path fork_configs() {
  const fs::path s = shared_dir();
  return s.empty() ? fs::path() : s / "fork-api" / "configs";
}

TEST(ForkConfig, TheForksFourConfigsRunUnchanged) {
  const fs::path configs = fork_configs();
  if (configs.empty() || !fs::exists(configs)) {
    std::printf("SKIP TheForksFourConfigsRunUnchanged: ../shared/fork-api/configs not found\n");
    GTEST_SKIP();
  }
  const fs::path dir = temp_dir("fork_configs");
  const std::map<std::string, std::pair<std::string, std::string>> io = {
      {"learned_filter_v1_qat", {"degraded", "filtered"}},
      {"filter_residual_v1", {"degraded", "filtered"}},
      {"nr_mobilenet_v1", {"frame", "mos"}},
      {"fr_tiny_v1", {"features", "vmaf"}}};
  for (const auto& [name, names] : io) {
    SCOPED_TRACE(name);
    const fs::path cfg = configs / (name + ".yaml");
    // The fork's caches are not here: without --smoke that is an error naming the path.
    CliResult no =
        cli_in(dir, fmt::format("qat -q -c {} -o {}", cfg.string(), (dir / "x.int8.onnx").string()), dir);
    EXPECT_EQ(no.code, 2);
    EXPECT_NE(no.err.find("cache: no such file 'ai/data/"), std::string::npos) << no.err;
    EXPECT_FALSE(fs::exists(dir / "x.int8.onnx"));
    // --smoke: synthetic samples, every phase, a QDQ model with the fork's input / output names.
    const fs::path out = dir / (name + ".int8.onnx");
    CliResult r = cli_in(dir, fmt::format("qat --smoke -c {} -o {}", cfg.string(), out.string()), dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("--smoke trains on synthetic samples"), std::string::npos) << r.err;
    const Model m = import_onnx(out.string());
    EXPECT_EQ(m.graph.inputs[0].name, names.first);
    EXPECT_EQ(m.graph.outputs[0].name, names.second);
    EXPECT_EQ(summarize(m).quantization, "qdq");
  }
}

TEST(ForkConfig, OutputFolderTakesFilesAndReportWithoutDashO) {
  const fs::path dir = temp_dir("fork_output");
  write_yaml(dir, "c.yaml",
             "model: fr_regressor\nmodel_args: {in_features: 6, hidden: 8, depth: 1}\ncache: none.parquet\n"
             "output: runs/here\nepochs: 1\nbatch_size: 8\nqat: {epochs_qat: 1}\n");
  CliResult r = cli_in(dir, "train --smoke -q -c c.yaml", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "runs/here/c.onnx"));
  const auto rep = nlohmann::json::parse(text_of(dir / "runs/here/report.json"));
  EXPECT_EQ(
      rep["train_samples"].get<int>() + rep["val_samples"].get<int>() + rep["test_samples"].get<int>() > 0,
      true);
  r = cli_in(dir, "qat --smoke -q -c c.yaml", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "runs/here/c.int8.onnx"));
  EXPECT_TRUE(fs::exists(dir / "runs/here/c.fp32.onnx"));
  // Neither -o nor output: is an error naming the config.
  write_yaml(dir, "n.yaml", "model: fr_regressor\ncache: none.parquet\n");
  r = cli_in(dir, "train --smoke -q -c n.yaml", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no output: give -o/--output"), std::string::npos) << r.err;
}

TEST(ForkConfig, MixedPrecisionAutocastsWhereTheCpuHasBf16) {
  const fs::path dir = temp_dir("fork_precision");
  const std::string base =
      "model: fr_regressor\nmodel_args: {in_features: 6, hidden: 32, depth: 2, dropout: 0}\ncache: "
      "none.parquet\n"
      "epochs: 1\nbatch_size: 16\nseed: 3\n";
  write_yaml(dir, "f32.yaml", base + "precision: \"32-true\"\n");
  write_yaml(dir, "bf16.yaml", base + "precision: \"bf16-mixed\"\n");
  CliResult a = cli_in(dir, "train --smoke -c f32.yaml -o f32.onnx", dir);
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.err.find("precision"), std::string::npos) << "fp32 says nothing about precision";
  CliResult b = cli_in(dir, "train --smoke -c bf16.yaml -o bf16.onnx", dir);
  ASSERT_EQ(b.code, 0) << b.err;
  const bool autocast = b.err.find("CPU bf16 autocast in the fp32 phase") != std::string::npos;
  EXPECT_TRUE(autocast || b.err.find("this CPU has no bf16 arithmetic") != std::string::npos) << b.err;
  const double d =
      max_weight_diff(import_onnx((dir / "f32.onnx").string()), import_onnx((dir / "bf16.onnx").string()));
  if (autocast) {
    EXPECT_GT(d, 0) << "bf16 autocast must change the arithmetic";
    EXPECT_LT(d, 1e-2) << "… not the result";
  } else {
    EXPECT_EQ(d, 0) << "without bf16 hardware the run is fp32";
  }
}

// ---------------------------------------------------------------- the zoo against the fork's files

// Trainable parameters as the exported file holds them: Conv / Gemm weights and biases (BN folded).
int64_t weight_count(const Model& m) {
  int64_t n = 0;
  for (const auto& node : m.graph.nodes)
    if (node.op_type == "Conv" || node.op_type == "Gemm")
      for (size_t k = 1; k < node.inputs.size() && k < 3; ++k)
        if (const Tensor* t = m.graph.initializer(node.inputs[k])) n += t->numel();
  return n;
}

// Same names, ranks and fixed dimensions (a symbolic dimension matches any size).
void expect_same_signature(const Model& ours, const Model& theirs) {
  auto same = [](const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name, b[i].name);
      EXPECT_EQ(a[i].dtype, b[i].dtype);
      ASSERT_EQ(a[i].shape.size(), b[i].shape.size()) << a[i].name;
      for (size_t d = 0; d < a[i].shape.size(); ++d)
        if (a[i].shape[d].is_known() && b[i].shape[d].is_known()) {
          EXPECT_EQ(a[i].shape[d].value, b[i].shape[d].value) << a[i].name << " dim " << d;
        }
      EXPECT_FALSE(a[i].shape[0].is_known()) << "our batch dimension is dynamic";
    }
  };
  same(ours.graph.inputs, theirs.graph.inputs);
  same(ours.graph.outputs, theirs.graph.outputs);
}

TEST(ForkZoo, ArchitecturesMatchTheForksShippedModels) {
  const fs::path s = shared_dir();
  if (s.empty()) {
    std::printf("SKIP ArchitecturesMatchTheForksShippedModels: ../shared/fork-models not found\n");
    GTEST_SKIP();
  }
  auto num = [](double v) { return zoo::Arg{{v}, "", false}; };
  struct Case {
    std::string file, kind;
    zoo::Args args;
  };
  const std::vector<Case> cases = {
      // The fork's configs' arguments (filter_residual_v1 / learned_filter_v1_qat, nr_mobilenet_v1).
      {"learned_filter_v1",
       "learned_filter",
       {{"channels", num(1)}, {"width", num(16)}, {"num_blocks", num(4)}}},
      {"nr_metric_v1", "nr_metric", {{"in_channels", num(1)}, {"width", num(16)}}},
      // The fork's shipped fr files are MLPs with the scaler baked in (their sidecars: canonical-6 +
      // StandardScaler, 6→16→8→1 and 6→64→32→16→1): tinyqat's mlp kind.
      {"vmaf_tiny_v2", "mlp", {{"hidden", zoo::Arg{{16, 8}, "", false}}}},
      {"vmaf_tiny_v4", "mlp", {{"hidden", zoo::Arg{{64, 32, 16}, "", false}}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const Model theirs = import_onnx((s / "fork-models" / (c.file + ".onnx")).string());
    Model ours = train::TrainableModel(zoo::build(c.kind, c.args, 0)).fp32_model();  // BN folded, as exported
    if (c.kind == "mlp")
      ours.graph.rename_value("score", "vmaf"), infer_shapes(ours);  // vmaf_tiny_qat.yaml does
    expect_same_signature(ours, theirs);
    EXPECT_EQ(weight_count(ours), weight_count(theirs));
    std::printf("zoo %s vs the fork's %s: same signature, %lld weights and biases each\n", c.kind.c_str(),
                c.file.c_str(), static_cast<long long>(weight_count(theirs)));
  }
  // fr_regressor (fr_tiny_v1.yaml's arguments): the fr files' signature, the fork module's parameter count
  // (6·64+64 + 64·64+64 + 64+1).
  const Model fr =
      zoo::build("fr_regressor",
                 {{"in_features", num(6)}, {"hidden", num(64)}, {"depth", num(2)}, {"dropout", num(0.1)}}, 0);
  expect_same_signature(fr, import_onnx((s / "fork-models" / "vmaf_tiny_v4.onnx").string()));
  EXPECT_EQ(weight_count(fr), 6 * 64 + 64 + 64 * 64 + 64 + 64 + 1);
}

TEST(ForkZoo, FrRegressorDropsOutWhileTrainingOnly) {
  auto num = [](double v) { return zoo::Arg{{v}, "", false}; };
  const Model m =
      zoo::build("fr_regressor",
                 {{"in_features", num(4)}, {"hidden", num(32)}, {"depth", num(2)}, {"dropout", num(0.5)}}, 1);
  for (const auto& n : m.graph.nodes) EXPECT_NE(n.op_type, "Dropout") << "exported models hold no Dropout";
  train::TrainableModel t(m);
  torch::manual_seed(0);
  const auto x = torch::rand({16, 4});
  t.set_training(true);
  const auto a = t.forward({x})[0], b = t.forward({x})[0];
  EXPECT_FALSE(torch::equal(a, b)) << "two training passes drop different activations";
  t.set_training(false);
  EXPECT_TRUE(torch::equal(t.forward({x})[0], t.forward({x})[0]));
  // Without dropout, training and eval passes agree.
  train::TrainableModel u(zoo::build("fr_regressor", {{"in_features", num(4)}, {"dropout", num(0)}}, 1));
  u.set_training(true);
  const auto c = u.forward({x})[0];
  u.set_training(false);
  EXPECT_TRUE(torch::allclose(c, u.forward({x})[0]));
  EXPECT_THROW(zoo::build("fr_regressor", {{"emit_variance", zoo::Arg{{}, "true", true}}}, 0), Error);
  EXPECT_THROW(zoo::build("fr_regressor", {{"num_codecs", num(3)}}, 0), Error);
}

// ---------------------------------------------------------------- a feature cache as .parquet and .npz

struct Trained {
  nlohmann::json report;
  Model model;
};

Trained train_on(const fs::path& dir, const fs::path& config, const std::string& out,
                 const std::string& extra = "") {
  const fs::path o = dir / out, rep = dir / (out + ".json");
  CliResult r = cli_in(
      dir,
      fmt::format("train -q -c {} -o {} --report {} {}", config.string(), o.string(), rep.string(), extra),
      dir);
  if (r.code != 0) throw std::runtime_error(r.err);
  return {nlohmann::json::parse(text_of(rep)), import_onnx(o.string())};
}

double max_weight_diff(const Model& a, const Model& b) {
  double d = 0;
  for (const auto& [name, t] : a.graph.initializers) {
    const Tensor* u = b.graph.initializer(name);
    if (!u || u->numel() != t.numel()) return INFINITY;
    if (t.dtype() != DType::F32) continue;
    for (int64_t i = 0; i < t.numel(); ++i)
      d = std::max(d, std::abs(double(t.data<float>()[i]) - double(u->data<float>()[i])));
  }
  return d;
}

// The same cache as .parquet (written by DuckDB) and as .npz (tinyqat data convert): the same key split
// and the same model; our own config with the fork's keys, so it runs without ../shared.
TEST(ForkCache, ParquetAndNpzCachesGiveTheSameSplitAndModel) {
  TQ_REQUIRE_DUCKDB();
  const fs::path dir = temp_dir("fork_cache_same");
  fs::create_directories(dir / "ai/data");
  run_duckdb(
      "copy (select 'clip' || (range % 60) as key, 0.8 + (range % 17) / 100.0 as adm2, (range % 13) / 20.0 "
      "as vif_scale0, (range % 11) / 15.0 as vif_scale1, (range % 7) / 9.0 as vif_scale2, (range % 5) / 6.0 "
      "as vif_scale3, (range % 23) / 3.0 as motion2, 20 + (range % 17) * 4 + (range % 13) as mos from "
      "range(240)) to 'ai/data/feats.parquet' (format parquet, compression zstd)",
      dir);
  ASSERT_EQ(
      cli_in(dir, "data convert ai/data/feats.parquet --layout feature-cache -o ai/data/feats.npz", dir).code,
      0);
  const std::string common =
      "model: fr_regressor\nmodel_args: {in_features: 6, hidden: 16, depth: 2, dropout: 0.1, lr: 3.0e-3, "
      "weight_decay: 1.0e-5}\nepochs: 30\nbatch_size: 32\nval_frac: 0.1\ntest_frac: 0.2\nseed: 0\nprecision: "
      "\"32-true\"\n";
  const fs::path pq = write_yaml(dir, "pq.yaml", common + "cache: ai/data/feats.parquet\n");
  const fs::path npz = write_yaml(dir, "npz.yaml", common + "cache: ai/data/feats.npz\n");
  const Trained a = train_on(dir, pq, "pq.onnx"), b = train_on(dir, npz, "npz.onnx");
  EXPECT_EQ(a.report["split"], "key");
  for (const char* k : {"train_samples", "val_samples", "test_samples"})
    EXPECT_EQ(a.report[k], b.report[k]) << k;
  EXPECT_GT(a.report["test_samples"].get<int>(), 0);
  EXPECT_LT(max_weight_diff(a.model, b.model), 1e-6) << "the same data in another file: the same model";
  EXPECT_EQ(a.report["test"][0]["plcc"], b.report["test"][0]["plcc"]);
  // Rows of one clip never straddle splits: 60 clips of 4 rows each, so every split is a multiple of 4.
  for (const char* k : {"train_samples", "val_samples", "test_samples"})
    EXPECT_EQ(a.report[k].get<int>() % 4, 0) << k;
}

// Frame caches (frame_dataset.py's): nr_metric on frame_path + mos, learned_filter on deg_path + clean_path.
TEST(ForkCache, FrameCachesTrainNrMetricAndLearnedFilter) {
  TQ_REQUIRE_DUCKDB();
  const fs::path dir = temp_dir("fork_frames");
  fs::create_directories(dir / "frames");
  const Tensor img = luma_images(24, 32, 32, 5);
  for (int64_t i = 0; i < 24; ++i) {
    Tensor f = Tensor::empty(DType::U8, {32, 32});
    for (int64_t k = 0; k < 32 * 32; ++k)
      f.data<uint8_t>()[k] = static_cast<uint8_t>(std::lround(255 * img.data<float>()[i * 32 * 32 + k]));
    write_npy((dir / fmt::format("frames/f{}.npy", i)).string(), f);
  }
  run_duckdb(
      "copy (select 'clip' || (range // 2) as key, 'frames/f' || range || '.npy' as frame_path, 40 + range "
      "as mos, 'frames/f' || range || '.npy' as deg_path, 'frames/f' || ((range + 1) % 24) || '.npy' as "
      "clean_path from range(24)) to 'frames.parquet' (format parquet)",
      dir);
  // Both column sets are in one file: deg_path + clean_path win (pairs), so the nr config gets its own.
  run_duckdb("copy (select key, frame_path, mos from 'frames.parquet') to 'nr.parquet' (format parquet)",
             dir);
  write_yaml(
      dir, "nr.yaml",
      "model: nr_metric\nmodel_args: {in_channels: 1, width: 4, lr: 1.0e-3}\ncache: nr.parquet\nepochs: 1\n"
      "batch_size: 8\nval_frac: 0.2\ntest_frac: 0.2\nseed: 0\nqat: {epochs_qat: 1, n_calibration: 4}\n");
  write_yaml(dir, "lf.yaml",
             "model: learned_filter\nmodel_args: {channels: 1, width: 4, num_blocks: 1, lr: 1.0e-4}\ncache: "
             "frames.parquet\nepochs: 1\nbatch_size: 8\nval_frac: 0.2\ntest_frac: 0.2\nseed: 0\nqat: "
             "{epochs_qat: 1, "
             "n_calibration: 4}\n");
  for (const char* name : {"nr", "lf"}) {
    SCOPED_TRACE(name);
    CliResult r = cli_in(dir, fmt::format("qat -c {0}.yaml -o {0}.int8.onnx --report {0}.json", name), dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find(std::string(name) == "nr" ? "a frames cache, 24 rows" : "a pairs cache, 24 rows"),
              std::string::npos)
        << r.err;
    const auto rep = nlohmann::json::parse(text_of(dir / (std::string(name) + ".json")));
    EXPECT_EQ(rep["split"], "key");
    EXPECT_EQ(rep["test_samples"].get<int>() % 2, 0) << "both frames of a clip land together";
    ASSERT_GT(rep["test"].size(), 0u);
    EXPECT_TRUE(std::string(name) == "nr" ? rep["test"][1]["plcc"].is_number()
                                          : rep["test"][1]["psnr"].is_number());
  }
}

// The done-when run: the Netflix feature vectors as the fork's feature cache (.parquet with a key column,
// and .npz), the fork's fr_tiny_v1.yaml unchanged on the parquet (the npz run uses a copy made here with
// only cache: and output: changed), held-out PLCC reported.
TEST(ForkCache, FrTinyV1OnTheNetflixFeatures) {
  TQ_REQUIRE_DUCKDB();
  const fs::path s = shared_dir();
  if (s.empty() || !fs::exists(s / "data/nflx_sv_features.csv")) {
    std::printf("SKIP FrTinyV1OnTheNetflixFeatures: ../shared/data/nflx_sv_features.csv not found\n");
    GTEST_SKIP();
  }
  const fs::path dir = temp_dir("fork_fr_tiny");
  fs::create_directories(dir / "ai/data");
  run_duckdb(
      fmt::format("copy (select printf('nflx_sv_%03d', row_number() over () - 1) as key, adm2, vif_scale0, "
                  "vif_scale1, vif_scale2, vif_scale3, motion2, vmaf as mos from read_csv('{}', header = "
                  "true)) to 'ai/data/nflx_features.parquet' (format parquet)",
                  (s / "data/nflx_sv_features.csv").string()),
      dir);
  ASSERT_EQ(
      cli_in(dir,
             "data convert ai/data/nflx_features.parquet --layout feature-cache -o ai/data/nflx_features.npz",
             dir)
          .code,
      0);
  const fs::path fork_cfg = s / "fork-api/configs/fr_tiny_v1.yaml";
  std::string text = text_of(fork_cfg);
  text.replace(text.find("nflx_features.parquet"), 21, "nflx_features.npz");
  const fs::path npz_cfg = write_yaml(dir, "fr_tiny_v1_npz.yaml", text);
  // The config as it is (100 epochs of one batch: 169 training rows, batch_size 256) on both files.
  const Trained a = train_on(dir, fork_cfg, "pq.onnx"), b = train_on(dir, npz_cfg, "npz.onnx");
  EXPECT_EQ(a.report["split"], "key");
  EXPECT_EQ(a.report["test_samples"], 17);  // the fork's rule on these keys (Python: 17 test, 26 val)
  EXPECT_EQ(a.report["val_samples"], 26);
  EXPECT_LT(max_weight_diff(a.model, b.model), 1e-6);
  EXPECT_EQ(a.report["test"][0]["plcc"], b.report["test"][0]["plcc"]);
  // That recipe has taken 100 optimizer steps only; 1000 epochs fit these few rows.
  const Trained c = train_on(dir, fork_cfg, "pq1000.onnx", "--epochs-fp32 1000");
  std::printf(
      "fr_tiny_v1 held-out PLCC (17 samples): %.4f (the config's 100 epochs, parquet and npz alike), "
      "%.4f (--epochs-fp32 1000)\n",
      a.report["test"][0]["plcc"].get<double>(), c.report["test"][0]["plcc"].get<double>());
  EXPECT_GT(c.report["test"][0]["plcc"].get<double>(), 0.9);
}

}  // namespace
}  // namespace tinyqat::test
