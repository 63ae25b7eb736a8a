// `--resume STATE`: a run killed after any epoch and resumed writes the same files, byte for byte, as
// the run that was never interrupted; a state that does not belong to the run is one clear error.
#include <gtest/gtest.h>

#include <cstdlib>

#include <fmt/format.h>

#include "core/file_util.h"
#include "io/npy.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

struct Job {
  fs::path dir, config;
};

// Two models that keep different state: learned_filter (BatchNormalization statistics, BN and observers
// frozen after the first QAT epoch, LSQ scales) and fr_regressor (dropout: the random generator).
Job filter_job(const std::string& name) {
  Job j{temp_dir(name), {}};
  Tensor clean = luma_images(40, 16, 16, 31), noisy = Tensor::empty(DType::F32, clean.shape());
  Rng r(7);
  for (int64_t i = 0; i < clean.numel(); ++i)
    noisy.data<float>()[i] = std::clamp(clean.data<float>()[i] + 0.05f * r.normal(), 0.f, 1.f);
  write_npz((j.dir / "train.npz").string(), {{"noisy", noisy}, {"clean", clean}}, false);
  j.config = j.dir / "c.yaml";
  write_file_atomic(j.config.string(), fmt::format(R"(model: learned_filter
model_args: {{channels: 1, width: 8, num_blocks: 2}}
data: {{train: {}, input: noisy, target: clean}}
batch_size: 8
lr: 0.003
val_frac: 0.25
seed: 3
loss: l1
qat:
  epochs_fp32: 3
  epochs_qat: 3
  n_calibration: 16
  freeze_bn_epoch: 1
  freeze_observers_epoch: 2
  lsq: true
)",
                                                   (j.dir / "train.npz").string()));
  return j;
}

Job regressor_job(const std::string& name) {
  Job j{temp_dir(name), {}};
  Rng r(9);
  Tensor x = random_tensor({96, 7}, r, -1.f, 1.f), y = Tensor::empty(DType::F32, {96, 1});
  for (int64_t i = 0; i < 96; ++i) {
    float s = 0;
    for (int64_t k = 0; k < 7; ++k) s += x.data<float>()[i * 7 + k] * static_cast<float>(k + 1);
    y.data<float>()[i] = 0.1f * s + 3.f;
  }
  write_npz((j.dir / "train.npz").string(), {{"features", x}, {"mos", y}}, false);
  j.config = j.dir / "c.yaml";
  write_file_atomic(j.config.string(), fmt::format(R"(model: fr_regressor
model_args: {{in_features: 7, hidden: 16, depth: 2, dropout: 0.3}}
data: {{train: {}, input: features, target: mos}}
batch_size: 16
lr: 0.01
val_frac: 0.25
seed: 5
loss: mse
qat:
  epochs_fp32: 3
  epochs_qat: 2
  n_calibration: 32
)",
                                                   (j.dir / "train.npz").string()));
  return j;
}

// Runs `tinyqat ARGS` with TINYQAT_TEST_CRASH_AT=STEP (the process ends at once after that epoch's
// resume state is written, as a kill would).
CliResult killed_at(const std::string& step, const std::string& args, const fs::path& work) {
  ::setenv("TINYQAT_TEST_CRASH_AT", step.c_str(), 1);
  CliResult r = cli_in(work, args, work);
  ::unsetenv("TINYQAT_TEST_CRASH_AT");
  return r;
}

std::vector<uint8_t> bytes(const fs::path& p) {
  return fs::exists(p) ? read_file(p.string()) : std::vector<uint8_t>{};
}

void expect_same_files_after_kills(const Job& j, const std::vector<std::string>& steps) {
  const std::string base = fmt::format("qat -q -c '{}' --threads 1", j.config.string());
  auto full = cli_in(j.dir, fmt::format("{} -o '{}'", base, (j.dir / "full.int8.onnx").string()), j.dir);
  ASSERT_EQ(full.code, 0) << full.err;
  EXPECT_FALSE(fs::exists(j.dir / "full.resume")) << "a finished run leaves no resume state";
  for (const auto& step : steps) {
    SCOPED_TRACE(step);
    const std::string stem = fmt::format("k{}", &step - steps.data());
    const fs::path out = j.dir / fmt::format("{}.int8.onnx", stem),
                   state = j.dir / fmt::format("{}.resume", stem);
    const std::string run = fmt::format("{} -o '{}'", base, out.string());
    auto k = killed_at(step, run, j.dir);
    ASSERT_EQ(k.code, 86) << "the crash point " << step << " was not reached: " << k.err;
    ASSERT_TRUE(fs::exists(state)) << "no resume state after " << step;
    EXPECT_FALSE(fs::exists(out)) << "nothing exported before the run ends";
    auto r = cli_in(j.dir, fmt::format("{} --resume '{}'", run, state.string()), j.dir);
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* suffix : {".int8.onnx", ".fp32.onnx", ".ckpt.onnx"})
      EXPECT_EQ(bytes(j.dir / fmt::format("{}{}", stem, suffix)),
                bytes(j.dir / fmt::format("full{}", suffix)))
          << suffix << " differs from the uninterrupted run's";
    EXPECT_FALSE(fs::exists(state)) << "the finished run removes its resume state";
  }
}

TEST(Resume, KilledAfterAnyEpochTheFilterResumesToTheSameBytes) {
  expect_same_files_after_kills(filter_job("resume_filter"),
                                {"train:fp32:1", "train:fp32:3", "train:qat:1", "train:qat:2"});
}

TEST(Resume, DropoutDrawsContinueWhereTheyStopped) {
  expect_same_files_after_kills(regressor_job("resume_dropout"), {"train:fp32:2", "train:qat:1"});
}

TEST(Resume, TheTrainCommandContinuesItsFp32Phase) {
  Job j = filter_job("resume_train");
  const std::string base = fmt::format("train -q -c '{}'", j.config.string());
  ASSERT_EQ(cli_in(j.dir, fmt::format("{} -o full.onnx", base), j.dir).code, 0);
  ASSERT_EQ(killed_at("train:fp32:2", fmt::format("{} -o k.onnx", base), j.dir).code, 86);
  auto r = cli_in(j.dir, fmt::format("{} -o k.onnx --resume k.resume", base), j.dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(bytes(j.dir / "k.onnx"), bytes(j.dir / "full.onnx"));
}

TEST(Resume, AStateThatIsNotThisRunsIsOneClearError) {
  Job j = filter_job("resume_bad");
  const std::string run = fmt::format("qat -q -c '{}' -o k.int8.onnx", j.config.string());
  ASSERT_EQ(killed_at("train:fp32:1", run, j.dir).code, 86);
  const fs::path state = j.dir / "k.resume";
  auto expect_refused = [&](const std::string& args, const std::string& says) {
    auto r = cli_in(j.dir, args, j.dir);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    if (says != "excludes") {  // CLI11's usage errors add a "Run with --help" line
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    }
    EXPECT_FALSE(fs::exists(j.dir / "k.int8.onnx"));
  };
  expect_refused(run + " --resume k.resume --epochs-qat 5", "another config");
  expect_refused(run + " --resume k.resume --seed 8", "another config");
  expect_refused(fmt::format("train -q -c '{}' -o t.onnx --resume k.resume", j.config.string()),
                 "resume it with `tinyqat qat`");
  expect_refused(run + " --resume k.ckpt.onnx", "use --init");
  expect_refused(run + " --resume missing.resume", "missing.resume");
  expect_refused(run + " --resume k.resume --init k.ckpt.onnx", "excludes");
  auto b = read_file(state.string());
  auto flipped = b;
  flipped[flipped.size() / 2] ^= 0x20;
  write_file_atomic((j.dir / "flipped.resume").string(), flipped);
  expect_refused(run + " --resume flipped.resume", "do not match their SHA-256");
  write_file_atomic((j.dir / "cut.resume").string(), std::vector<uint8_t>(b.begin(), b.begin() + 40));
  expect_refused(run + " --resume cut.resume", "cut.resume");
  // The state itself still resumes: nothing above consumed or damaged it.
  auto r = cli_in(j.dir, run + " --resume k.resume", j.dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(j.dir / "k.int8.onnx"));
}

}  // namespace
}  // namespace tinyqat::test
