// Training from a sharded corpus (data/shards.h): the mlp streams its training split, learns, and bakes
// in the same input statistics as from the whole .npz; bad corpora stop `tinyqat train` with exit 2.
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include "core/file_util.h"
#include "data/shards.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"
#include "train/config.h"
#include "train/trainer.h"

namespace tinyqat::test {
namespace {

struct Corpus {
  fs::path dir, npz, manifest;
};

// 96 rows of 6 features with a linear target, as one .npz and as 6 shards of 16 rows.
Corpus features_corpus(const std::string& name) {
  Corpus c{temp_dir(name), {}, {}};
  Rng r(3);
  std::vector<float> x, y;
  for (int i = 0; i < 96; ++i) {
    float t = 0;
    for (int f = 0; f < 6; ++f) {
      const float v = r.uniform(-1.f, 1.f) * static_cast<float>(f + 1) + static_cast<float>(f);
      x.push_back(v);
      t += v * (f % 2 ? 0.5f : -0.25f);
    }
    y.push_back(t);
  }
  c.npz = c.dir / "features.npz";
  write_npz(c.npz.string(),
            {{"features", Tensor::from_f32({96, 6}, x)}, {"score", Tensor::from_f32({96}, y)}}, false);
  data::write_shards(c.npz.string(), (c.dir / "shards").string(), 16);
  c.manifest = c.dir / "shards" / "manifest.txt";
  return c;
}

train::TrainConfig config(const Corpus& c, const fs::path& train, const std::string& extra = "") {
  const fs::path p = c.dir / "c.yaml";
  write_file_atomic(p.string(), fmt::format(R"(model: mlp
model_args: {{in_features: 6, hidden: [16, 8], activation: relu}}
data: {{train: {}, input: features, target: score}}
batch_size: 8
lr: 0.01
val_frac: {}
seed: 2
loss: mse
qat:
  epochs_fp32: 8
  epochs_qat: 1
)",
                                            train.string(), extra.empty() ? "0" : extra));
  return train::load_config(p.string());
}

TEST(ShardTrain, MlpTrainsFromShardsDeterministically) {
  const Corpus c = features_corpus("shard_train_mlp");
  auto run = [&](const std::string& ckpt) {
    train::RunOptions o;
    o.quiet = true;
    o.checkpoint = (c.dir / ckpt).string();
    return train::run_train(config(c, c.manifest), o);
  };
  const train::TrainResult a = run("a.onnx"), b = run("b.onnx");
  EXPECT_EQ(a.train_samples, 96);
  ASSERT_EQ(a.epochs.size(), 8u);
  EXPECT_LT(a.epochs.back().train_loss, 0.5 * a.epochs.front().train_loss)
      << a.epochs.front().train_loss << " -> " << a.epochs.back().train_loss;
  EXPECT_EQ(read_file(a.checkpoint), read_file(b.checkpoint)) << "same corpus, seed: the same weights";
  // Whole shards are held out: val_frac 0.34 of 6 shards = 2 shards of 16 rows.
  train::RunOptions o;
  o.quiet = true;
  o.checkpoint = (c.dir / "v.onnx").string();
  const train::TrainResult v = train::run_train(config(c, c.manifest, "0.34"), o);
  EXPECT_EQ(v.train_samples, 64);
  EXPECT_EQ(v.val_samples, 32);
  EXPECT_TRUE(std::isfinite(v.epochs.back().val_loss));
}

TEST(ShardTrain, MlpStatisticsFromTheStreamingPassMatchTheWholeFile) {
  const Corpus c = features_corpus("shard_train_stats");
  const Model from_npz = train::initial_model(config(c, c.npz));
  const Model from_shards = train::initial_model(config(c, c.dir / "shards"));
  Tensor x = Tensor::empty(DType::F32, {5, 6});
  Rng r(9);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = r.uniform(-2.f, 6.f);
  const std::string in = from_npz.graph.inputs[0].name;
  const Tensor a = Executor(from_npz).run({{in, x}})[0], b = Executor(from_shards).run({{in, x}})[0];
  ASSERT_EQ(a.numel(), b.numel());
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-5 * std::max(1.f, std::fabs(a.data<float>()[i])));
}

// Two ranks take their shares of the 1-rank order of the stream: the same checkpoint up to summation order.
TEST(ShardTrain, TwoRanksTrainWhatOneRankTrains) {
  const Corpus c = features_corpus("shard_train_ranks");
  config(c, c.manifest);
  const std::string cfg = (c.dir / "c.yaml").string();
  CliResult r = cli(fmt::format("train -q -c {} -o {}", cfg, (c.dir / "one.onnx").string()), c.dir);
  ASSERT_EQ(r.code, 0) << r.err;
  r = cli(fmt::format("train -q -c {} -o {} --nproc 2", cfg, (c.dir / "two.onnx").string()), c.dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const Model a = import_onnx((c.dir / "one.onnx").string()), b = import_onnx((c.dir / "two.onnx").string());
  ASSERT_EQ(a.graph.initializers.size(), b.graph.initializers.size());
  for (const auto& [name, ta] : a.graph.initializers) {
    if (ta.dtype() != DType::F32) continue;
    const Tensor& tb = b.graph.initializers.at(name);
    ASSERT_EQ(ta.numel(), tb.numel()) << name;
    double diff = 0, scale = 1e-6;
    for (int64_t i = 0; i < ta.numel(); ++i) {
      diff = std::max(diff, double(std::fabs(ta.data<float>()[i] - tb.data<float>()[i])));
      scale = std::max(scale, double(std::fabs(ta.data<float>()[i])));
    }
    EXPECT_LE(diff, 1e-5 * scale) << name;
  }
}

TEST(ShardTrain, BadCorpusStopsTrainWithExitTwo) {
  const Corpus c = features_corpus("shard_train_bad");
  write_file_atomic((c.dir / "bad.txt").string(), std::string("shards/shard-00000.npz\nshards/gone.npz\n"));
  config(c, c.dir / "bad.txt");
  CliResult r =
      cli(fmt::format("train -c {} -o {}", (c.dir / "c.yaml").string(), (c.dir / "x.onnx").string()), c.dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("gone.npz"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(c.dir / "x.onnx"));
}

}  // namespace
}  // namespace tinyqat::test
