// The QAT trainer: the deployed int8 model reproduces the fake-quant forward it was trained with (our
// runtime and ONNX Runtime, within one output step), the same config + seed gives the same bytes,
// every artifact loads in ORT, and bad input stops with one clear line (exit code 2).
#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "ir/builder.h"
#include "ir/summary.h"
#include "onnx/onnx_io.h"
#include "quant/plan.h"
#include "quant/qconfig.h"
#include "runtime/executor.h"
#include "support/test_support.h"
#include "train/config.h"
#include "train/trainable.h"
#include "train/trainer.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

using train::TrainableModel;

struct Arch {
  const char* name;
  Model (*model)();
  Tensor (*data)(int64_t n, uint64_t seed);
};

Model filter() {
  return zoo::learned_filter(1, 8, 2, 3);
}
Model nr() {
  return zoo::nr_metric(1, 4, 3);
}  // BatchNormalization after every Conv
Model mlp_gelu() {
  return zoo::mlp(6, {16, 8}, "gelu", {0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, 3);
}
Tensor images16(int64_t n, uint64_t seed) {
  return luma_images(n, 16, 16, seed);
}
Tensor images32(int64_t n, uint64_t seed) {
  return luma_images(n, 32, 32, seed);
}
Tensor features(int64_t n, uint64_t seed) {
  Rng r(seed);
  return random_tensor({n, 6}, r, -2.f, 2.f);
}
const Arch kArchs[] = {
    {"learned_filter", filter, images16}, {"nr_metric", nr, images32}, {"mlp_gelu", mlp_gelu, features}};

// A few optimizer steps toward a fixed random target, so BN statistics and weights move away from init.
void train_steps(TrainableModel& m, const Tensor& x, int steps, double lr) {
  torch::optim::Adam opt(m.parameters(), torch::optim::AdamOptions(lr));
  auto xt = train::to_torch(x);
  m.set_training(true);
  auto shape = m.forward({xt})[0].sizes().vec();
  torch::manual_seed(1);
  auto target = torch::rand(shape);
  for (int i = 0; i < steps; ++i) {
    auto loss = torch::l1_loss(m.forward({xt})[0], target);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
}

class QatFidelity : public ::testing::TestWithParam<std::tuple<int, quant::ActScheme>> {};

TEST_P(QatFidelity, DeployedInt8ReproducesTheFakeQuantForwardWithinOneStep) {
  const Arch& a = kArchs[std::get<0>(GetParam())];
  const auto scheme = std::get<1>(GetParam());
  torch::set_num_threads(1);
  TrainableModel m(a.model());
  Tensor x = a.data(16, 1);
  train_steps(m, x, 4, 1e-2);  // fp32 phase (BN batch statistics, running averages move)
  train::QatOptions qo;
  qo.qconfig.activations = scheme;
  m.prepare_qat(qo);
  int64_t used = 0;
  m.set_ranges(quant::calibrate_ranges(m.fp32_model(), m.plan(), {{m.inputs()[0].name, a.data(8, 2)}},
                                       qo.qconfig, &used));
  EXPECT_TRUE(m.unobserved().empty());
  train_steps(m, x, 3, 1e-3);  // QAT with live observers and live BN (the fused ConvBn path)
  m.freeze_bn();
  m.freeze_observers();
  train_steps(m, x, 2, 1e-3);  // then frozen and folded

  Tensor eval = a.data(6, 7);
  m.set_training(false);
  torch::Tensor fq;
  {
    torch::NoGradGuard ng;
    fq = m.forward({train::to_torch(eval)})[0];
  }
  Tensor fake = train::from_torch(fq);
  Model q = m.qdq_model();
  check_onnx(q);
  EXPECT_EQ(summarize(q).quantization, "qdq");
  fs::path dir = temp_dir(std::string("qat_fidelity_") + a.name + quant::name(scheme));
  fs::path file = dir / "m.int8.onnx";
  export_onnx(q, file.string());
  // Every arch's output is a float head (a Gemm, or the filter's Clip/Add): no fake-quant in training,
  // no QuantizeLinear in the export; the deployed output is the fake-quant forward's, give or take one
  // step of the quantized tensors it is computed from.
  EXPECT_EQ(output_step(q, q.graph.outputs[0].name), 0) << "the output is not re-quantized";
  EXPECT_FALSE(m.plan().float_heads.empty());
  const double slack = float_head_slack(q, q.graph.outputs[0].name);
  Executor ex(import_onnx(file.string()));
  auto ours = ex.run({{q.graph.inputs[0].name, eval}});
  auto ort = ort_run(file, {{q.graph.inputs[0].name, eval}}, {q.graph.outputs[0].name}, dir);
  Agreement ao = compare_float_head(ours[0], fake, slack), ar = compare_float_head(ort[0], fake, slack);
  EXPECT_TRUE(ao.ok) << "ours vs fake-quant: " << ao.where;
  EXPECT_TRUE(ar.ok) << "ORT vs fake-quant: " << ar.where;
  std::printf("[qat] %s %s: |int8 − fake-quant| max ours %.3g, ORT %.3g (one-step slack %.3g)\n", a.name,
              quant::name(scheme), ao.max_abs, ar.max_abs, slack);
}

INSTANTIATE_TEST_SUITE_P(Archs, QatFidelity,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(quant::ActScheme::Symmetric,
                                                              quant::ActScheme::Asymmetric)),
                         [](const auto& i) {
                           return std::string(kArchs[std::get<0>(i.param)].name) + "_" +
                                  quant::name(std::get<1>(i.param));
                         });

TEST(Trainable, BatchNormIsAbsorbedTrainedAndFolded) {
  TrainableModel m(nr());
  Tensor x = images32(8, 4);
  train_steps(m, x, 3, 1e-2);
  Model ck = m.checkpoint_model(), folded = m.fp32_model();
  auto count = [](const Model& mm, const char* op) {
    int c = 0;
    for (const auto& n : mm.graph.nodes) c += n.op_type == op;
    return c;
  };
  EXPECT_EQ(count(ck, "BatchNormalization"), 11);
  EXPECT_EQ(count(folded, "BatchNormalization"), 0);
  // Running statistics moved away from their initial (0, 1).
  bool moved = false;
  for (const auto& n : ck.graph.nodes)
    if (n.op_type == "BatchNormalization")
      moved |= std::fabs(ck.graph.initializer(n.inputs[3])->data<float>()[0]) > 1e-4;
  EXPECT_TRUE(moved);
  // Checkpoint (BN kept) and folded model compute the same function; so does the trainer in eval mode.
  Tensor e = images32(3, 5);
  auto a = Executor(ck).run({{"frame", e}}), b = Executor(folded).run({{"frame", e}});
  EXPECT_TRUE(compare_fp32(a[0], b[0], 1e-4).ok);
  m.set_training(false);
  torch::NoGradGuard ng;
  EXPECT_TRUE(compare_fp32(train::from_torch(m.forward({train::to_torch(e)})[0]), a[0], 1e-4).ok);
}

TEST(Trainable, OneDimensionalConvWithBatchNormFoldsAndQuantizes) {
  GraphBuilder b("conv1d");
  Rng r(2);
  auto x = b.input("x", DType::F32, {"N", 2, 16});
  auto y = b.op("Conv", {x, b.constant("w", random_tensor({4, 2, 3}, r, -0.5f, 0.5f))},
                {{"pads", Attribute::of_ints({1, 1})}, {"kernel_shape", Attribute::of_ints({3})}});
  Tensor ones = Tensor::empty(DType::F32, {4});
  for (int i = 0; i < 4; ++i) ones.data<float>()[i] = 1.f;
  y = b.op("BatchNormalization", {y, b.constant("g", ones), b.constant("be", Tensor::zeros(DType::F32, {4})),
                                  b.constant("m", Tensor::zeros(DType::F32, {4})), b.constant("v", ones)});
  b.output(b.op("Relu", {y}), "y");
  TrainableModel m(b.finish());
  Tensor data = random_tensor({8, 2, 16}, r, -1.f, 1.f);
  train_steps(m, data, 3, 1e-2);
  Tensor e = random_tensor({3, 2, 16}, r, -1.f, 1.f);
  auto a = Executor(m.checkpoint_model()).run({{"x", e}}), f = Executor(m.fp32_model()).run({{"x", e}});
  EXPECT_TRUE(compare_fp32(a[0], f[0], 1e-4).ok);
  train::QatOptions qo;
  m.prepare_qat(qo);
  int64_t used = 0;
  m.set_ranges(quant::calibrate_ranges(m.fp32_model(), m.plan(), {{"x", data}}, qo.qconfig, &used));
  m.set_training(false);
  torch::NoGradGuard ng;
  Tensor fake = train::from_torch(m.forward({train::to_torch(e)})[0]);
  Model q = m.qdq_model();
  auto ours = Executor(q).run({{"x", e}});
  EXPECT_TRUE(compare_steps(ours[0], fake, output_step(q, "y")).ok);
}

TEST(Trainable, LearnableScalesStayPositiveAndExportWithinOneStep) {
  // learned_filter; the MLP also shares one learnable scale between tied tensors (Squeeze).
  for (const Arch& a : {kArchs[0], kArchs[2]}) {
    TrainableModel m(a.model());
    Tensor x = a.data(8, 1);
    train::QatOptions qo;
    qo.lsq = true;
    m.prepare_qat(qo);
    int64_t used = 0;
    m.set_ranges(
        quant::calibrate_ranges(m.fp32_model(), m.plan(), {{m.inputs()[0].name, x}}, qo.qconfig, &used));
    train_steps(m, x, 5, 1e-2);
    for (const auto& [t, q] : m.activation_qparams()) EXPECT_GT(q.scale, 0.f) << a.name << " " << t;
    m.set_training(false);
    Tensor e = a.data(3, 6);
    torch::NoGradGuard ng;
    Tensor fake = train::from_torch(m.forward({train::to_torch(e)})[0]);
    Model q = m.qdq_model();
    auto ours = Executor(q).run({{m.inputs()[0].name, e}});
    // LibTorch's learnable fake-quant multiplies by 1/s: one step of slack instead of bit-exactness.
    EXPECT_TRUE(compare_steps(ours[0], fake, output_step(q, q.graph.outputs[0].name)).ok) << a.name;
  }
}

// The dropout note in a model's metadata ("P@value,..."), read from a file given as `init:`: a P that
// is not a number in [0, 1) is one Error naming the key, not an exception from std::stod.
TEST(Trainable, DropoutMetadataIsParsedStrictly) {
  for (const char* p : {"x", "1e999", "0.5junk", "nan", "1", ""}) {
    Model m =
        zoo::build("fr_regressor",
                   {{"in_features", zoo::Arg{{4}, {}, false}}, {"dropout", zoo::Arg{{0.25}, {}, false}}}, 1);
    bool found = false;
    for (auto& [k, v] : m.metadata)
      if (k == zoo::kDropoutKey) v = p + v.substr(v.find('@')), found = true;
    ASSERT_TRUE(found);
    try {
      TrainableModel t(m);
      ADD_FAILURE() << "accepted dropout '" << p << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is not a number in [0, 1)"), std::string::npos) << e.what();
    }
  }
}

TEST(Trainable, RefusesOpsItCannotDifferentiate) {
  GraphBuilder b("ct");
  auto x = b.input("x", DType::F32, {"N", 1, 8, 8});
  b.output(b.op("ConvTranspose", {x, b.constant("w", Tensor::zeros(DType::F32, {1, 2, 3, 3}))}), "y");
  try {
    TrainableModel m(b.finish());
    FAIL() << "ConvTranspose should be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot differentiate ConvTranspose"), std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------- the whole pipeline

struct Workspace {
  fs::path dir, config;
};

// A small learned_filter config on synthetic luma pairs (noisy → clean).
Workspace small_config(const std::string& name, const std::string& extra = "",
                       const std::string& lr = "0.003") {
  Workspace w{temp_dir(name), {}};
  Tensor clean = luma_images(48, 16, 16, 11), noisy = Tensor::empty(DType::F32, clean.shape());
  Rng r(5);
  for (int64_t i = 0; i < clean.numel(); ++i)
    noisy.data<float>()[i] = std::clamp(clean.data<float>()[i] + 0.05f * r.normal(), 0.f, 1.f);
  write_npz((w.dir / "train.npz").string(), {{"noisy", noisy}, {"clean", clean}}, false);
  w.config = w.dir / "c.yaml";
  write_file_atomic(w.config.string(), fmt::format(R"(model: learned_filter
model_args: {{channels: 1, width: 8, num_blocks: 2}}
data: {{train: {}, input: noisy, target: clean}}
batch_size: 8
lr: {}
val_frac: 0.25
seed: 4
loss: l1
qat:
  epochs_fp32: 2
  epochs_qat: 2
  n_calibration: 16
  freeze_bn_epoch: 1
  freeze_observers_epoch: 1
{})",
                                                   (w.dir / "train.npz").string(), lr, extra));
  return w;
}

TEST(Qat, SameConfigAndSeedGiveTheSameBytesAndOrtRunsThem) {
  Workspace w = small_config("qat_repro");
  auto run = [&](const std::string& out, uint64_t seed) {
    train::TrainConfig c = train::load_config(w.config.string());
    c.seed = seed;
    train::RunOptions o;
    o.quiet = true;
    o.output = (w.dir / out).string();
    o.checkpoint = (w.dir / (out + ".ckpt.onnx")).string();
    return train::run_qat(c, o);
  };
  auto r1 = run("a.int8.onnx", 4), r2 = run("b.int8.onnx", 4), r3 = run("c.int8.onnx", 5);
  EXPECT_EQ(read_file(r1.int8_path), read_file(r2.int8_path)) << "two runs, same config and seed";
  EXPECT_EQ(read_file(r1.fp32_path), read_file(r2.fp32_path));
  EXPECT_NE(read_file(r1.int8_path), read_file(r3.int8_path)) << "another seed trains another model";
  Model q = import_onnx(r1.int8_path);
  std::map<std::string, std::string> meta(q.metadata.begin(), q.metadata.end());
  EXPECT_EQ(meta["tinyqat.quant_mode"], "qat");
  EXPECT_EQ(meta["tinyqat.seed"], "4");
  EXPECT_EQ(meta["tinyqat.config_hash"].size(), 64u);
  // The config sets neither qat.qconfig nor qat.init_ranges: quant's one default.
  EXPECT_NE(
      meta["tinyqat.qconfig"].find(fmt::format("activations={}", quant::name(quant::kDefaultActivations))),
      std::string::npos)
      << meta["tinyqat.qconfig"];
  EXPECT_EQ(q.opset, 17);
  EXPECT_EQ(q.graph.inputs[0].name, "degraded")
      << "the model keeps its input name; data.input names the array";
  Tensor x = luma_images(3, 16, 16, 21);
  for (const auto& p : {r1.int8_path, r1.fp32_path, r1.checkpoint}) {
    auto ort = ort_run(p, {{"degraded", x}}, {q.graph.outputs[0].name}, w.dir);
    auto ours = Executor(import_onnx(p)).run({{"degraded", x}});
    const double slack = p == r1.int8_path ? float_head_slack(q, q.graph.outputs[0].name) : 0;
    EXPECT_TRUE(compare_float_head(ours[0], ort[0], slack).ok) << p;
  }
  // The QDQ model quantizes exactly what static PTQ of the exported fp32 model would.
  quant::PtqReport rep;
  auto plan = quant::plan_static(import_onnx(r1.fp32_path).graph, {}, &rep);
  EXPECT_EQ(plan.tensors, r1.quantized_tensors);
}

// The trainer has no defaults of its own for quantization: a config without qat.qconfig / qat.init_ranges
// gets quant's one default (quant/qconfig.h), and the seed's symmetric preset is still a config word.
TEST(Qat, ConfigDefaultsAreQuantsOneDefault) {
  Workspace w = small_config("qat_defaults");
  train::TrainConfig c = train::load_config(w.config.string());
  EXPECT_EQ(c.qat.qconfig, quant::name(quant::kDefaultActivations));
  EXPECT_EQ(c.qat.init_ranges, quant::name(quant::kDefaultMethod));
  const quant::QConfig seed = quant::preset("seed");
  Workspace s =
      small_config("qat_seed", fmt::format("  qconfig: {}\n  init_ranges: {}\n",
                                           quant::name(seed.activations), quant::name(seed.method)));
  c = train::load_config(s.config.string());
  EXPECT_EQ(c.qat.qconfig, "symmetric");
  EXPECT_EQ(c.qat.init_ranges, "minmax");
}

// qat.quantize_outputs: true gives the old form (the output re-quantized, a QuantizeLinear before it);
// the default leaves the filter's output a float head.
TEST(Qat, QuantizeOutputsKeyReQuantizesTheHead) {
  auto run = [](const std::string& name, const std::string& extra) {
    Workspace w = small_config(name, extra);
    train::TrainConfig c = train::load_config(w.config.string());
    c.qat.epochs_fp32 = 1, c.qat.epochs_qat = 1;
    train::RunOptions o;
    o.quiet = true;
    o.output = (w.dir / "m.int8.onnx").string();
    o.checkpoint = (w.dir / "m.ckpt.onnx").string();
    return std::make_pair(c, import_onnx(train::run_qat(c, o).int8_path));
  };
  auto [c0, q0] = run("qat_float_head", "");
  auto [c1, q1] = run("qat_quantized_head", "  quantize_outputs: true\n");
  EXPECT_FALSE(c0.qat.quantize_outputs);
  EXPECT_TRUE(c1.qat.quantize_outputs);
  EXPECT_NE(c0.hash(), c1.hash()) << "the key is part of the config's identity";
  EXPECT_EQ(output_step(q0, q0.graph.outputs[0].name), 0) << "default: a float head";
  EXPECT_GT(output_step(q1, q1.graph.outputs[0].name), 0) << "quantize_outputs: re-quantized";
}

TEST(Qat, ResumeSkipsTheFp32PhaseAndDistillNeedsNoLabels) {
  Workspace w = small_config("qat_resume");
  train::TrainConfig c = train::load_config(w.config.string());
  train::RunOptions o;
  o.quiet = true;
  o.checkpoint = (w.dir / "ck.onnx").string();
  auto t = train::run_train(c, o);
  ASSERT_EQ(t.epochs.size(), 2u);
  c.loss = "distill";
  c.target_array.clear();
  train::RunOptions q;
  q.quiet = true;
  q.init = o.checkpoint;
  q.output = (w.dir / "d.int8.onnx").string();
  auto r = train::run_qat(c, q);
  for (const auto& e : r.epochs) EXPECT_EQ(e.phase, "qat") << "no fp32 epoch after --init";
  // Distillation starts from the teacher itself: the fp32 loss at the start is the quantization error only.
  EXPECT_LT(r.epochs[0].val_loss, 1e-3);
  EXPECT_TRUE(fs::exists(r.int8_path));
}

TEST(Qat, TheQuantizeLadderTriesTheQatRung) {
  Workspace w = small_config("qat_ladder");
  fs::path fp32 = w.dir / "fp32.onnx";
  export_onnx(zoo::learned_filter(1, 8, 2, 9), fp32.string());
  write_npz((w.dir / "calib.npz").string(), {{"degraded", luma_images(32, 16, 16, 3)}}, false);
  write_npz((w.dir / "eval.npz").string(), {{"degraded", luma_images(8, 16, 16, 4)}}, false);
  // Budget 0: no rung can fit, so every rung runs and reports its drop; the model stays fp32 (exit 1).
  auto r = cli(fmt::format("quantize '{}' --budget 0 --data '{}' --calibration '{}' --qat-epochs 1",
                           fp32.string(), (w.dir / "eval.npz").string(), (w.dir / "calib.npz").string()),
               w.dir);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  // The table's QAT row was tried: a drop over the budget, not a reason for skipping it.
  const size_t row = r.out.find("\n  qat ");
  ASSERT_NE(row, std::string::npos) << r.out;
  const std::string line = r.out.substr(row + 1, r.out.find('\n', row + 1) - row - 1);
  EXPECT_NE(line.find(" over "), std::string::npos) << line;
  EXPECT_EQ(line.find("skipped"), std::string::npos) << line;
  EXPECT_NE(r.out.find("the model stays fp32"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("qat  epoch 1/1"), std::string::npos) << "the QAT rung shows its epochs: " << r.err;
}

// The QAT rung the CLI plugs into the ladder keeps --exclude nodes in fp32 like the PTQ rungs, and refuses
// models with several inputs (the ladder then reports it skipped).
TEST(Qat, TheLadderRungHonoursExcludeAndSaysWhatItCannotTake) {
  Model fp32 = zoo::learned_filter(1, 8, 2, 9);
  const std::string first = fp32.graph.nodes.at(0).name;
  ASSERT_EQ(fp32.graph.nodes[0].op_type, "Conv");
  quant::QatRung rung = train::ladder_qat_rung(1, 1, {first});
  EXPECT_EQ(rung.refuses(fp32), "");
  Model q = rung.run(fp32, {{"degraded", luma_images(16, 16, 16, 3)}});
  int convs = 0, float_weights = 0;
  for (const auto& n : q.graph.nodes)
    if (n.op_type == "Conv") {
      ++convs;
      const bool float_weight = q.graph.initializer(n.inputs[1]) != nullptr;
      float_weights += float_weight;
      EXPECT_EQ(float_weight, n.name == first) << n.name;
    }
  EXPECT_GT(convs, 2);
  EXPECT_EQ(float_weights, 1);
  GraphBuilder b("two");
  auto x = b.input("x", DType::F32, {"N", 2}), y = b.input("y", DType::F32, {"N", 2});
  b.output(b.op("Add", {x, y}), "z");
  EXPECT_NE(rung.refuses(b.finish()), "");
}

TEST(Qat, RegisterHandsTheResultToTheRegistry) {
  Workspace w = small_config("qat_register");
  fs::path reg = w.dir / "reg" / "registry.json";
  write_npz((w.dir / "eval.npz").string(), {{"degraded", luma_images(6, 16, 16, 8)}}, false);
  auto r = cli(fmt::format("qat -q -c '{}' -o '{}' --register '{}' --id lf_qat --eval '{}' --license MIT",
                           w.config.string(), (w.dir / "lf.int8.onnx").string(), reg.string(),
                           (w.dir / "eval.npz").string()),
               w.dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = text_of(reg);
  EXPECT_NE(text.find("\"quant_mode\": \"qat\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"int8_sha256\""), std::string::npos) << text;
  EXPECT_EQ(cli(fmt::format("registry validate '{}'", reg.string()), w.dir).code, 0);
  EXPECT_EQ(cli(fmt::format("resolve --registry '{}' --id lf_qat", reg.string()), w.dir).code, 0);
}

TEST(QatBadInput, ClearErrorsAndExitCode2) {
  Workspace w = small_config("qat_bad");
  auto expect = [&](const std::string& args, const std::string& needle) {
    auto r = cli(args, w.dir);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  };
  auto yaml = [&](const std::string& name, const std::string& text) {
    fs::path p = w.dir / name;
    write_file_atomic(p.string(), text);
    return p.string();
  };
  const std::string data = (w.dir / "train.npz").string();
  expect("qat -c " +
             yaml("kind.yaml", "model: resnet\ndata: {train: " + data + ", input: noisy, target: clean}\n") +
             " -o x.int8.onnx",
         "unknown model kind 'resnet'");
  expect("qat -c " +
             yaml("arg.yaml", "model: learned_filter\nmodel_args: {depth: 3}\ndata: {train: " + data +
                                  ", input: noisy, target: clean}\n") +
             " -o " + (w.dir / "x.int8.onnx").string(),
         "unknown model argument 'depth'");
  expect("qat -c " + yaml("key.yaml", "model: mlp\nepoch: 3\ndata: {train: " + data + ", input: noisy}\n") +
             " -o x.int8.onnx",
         "epoch: unknown key");
  expect("qat -c " +
             yaml("nodata.yaml",
                  "model: learned_filter\ndata: {train: /nonexistent/t.npz, input: noisy, "
                  "target: clean}\n") +
             " -o " + (w.dir / "x.int8.onnx").string(),
         "no such file '/nonexistent/t.npz'");
  expect("qat -c " +
             yaml("shape.yaml", "model: mlp\ndata: {train: " + data + ", input: noisy, target: clean}\n") +
             " -o " + (w.dir / "x.int8.onnx").string(),
         "must be float32 [samples, features]");
  expect("qat -c " +
             yaml("ishape.yaml", "model: learned_filter\ndata: {train: " + data +
                                     ", input: noisy, target: clean}\nqat: {input_shape: [1, 1, 32, 32]}\n") +
             " -o " + (w.dir / "x.int8.onnx").string(),
         "qat.input_shape [1,1,32,32] does not match the data");
  expect("qat -c " + w.config.string() + " -o " + (w.dir / "x.int8.onnx").string() + " --device cuda:0",
         "--device cuda:0");
  GraphBuilder b("ct");
  auto x = b.input("noisy", DType::F32, {"N", 1, 16, 16});
  b.output(b.op("ConvTranspose", {x, b.constant("w", Tensor::zeros(DType::F32, {1, 1, 1, 1}))}), "y");
  export_onnx(b.finish(), (w.dir / "ct.onnx").string());
  expect("qat -c " +
             yaml("ct.yaml", "init: " + (w.dir / "ct.onnx").string() + "\ndata: {train: " + data +
                                 ", input: noisy, target: clean}\n") +
             " -o " + (w.dir / "x.int8.onnx").string(),
         "cannot differentiate ConvTranspose");
  expect("qat -c " +
             yaml("excl.yaml",
                  "model: learned_filter\nmodel_args: {width: 4, num_blocks: 1}\ndata: {train: " + data +
                      ", input: noisy, target: clean}\nqat: {epochs_fp32: 0, exclude: [nope]}\n") +
             " -o " + (w.dir / "x.int8.onnx").string(),
         "qat.exclude: the model has no node named 'nope'");
  // Every output's folder is checked before the training, not when the report is written last.
  fs::remove(w.dir / "x.ckpt.onnx");  // the exclude case above ran its (empty) fp32 phase
  expect("qat -c " + w.config.string() + " -o " + (w.dir / "x.int8.onnx").string() +
             " --report /nonexistent/r.json",
         "/nonexistent/r.json: the folder /nonexistent does not exist");
  expect("qat -c " + w.config.string() + " -o " + (w.dir / "x.int8.onnx").string() + " --fp32-output " +
             (w.dir / "train.npz" / "x.onnx").string(),
         "is not a folder");
  expect("train -c " + w.config.string() + " -o /nonexistent/x.onnx",
         "the folder /nonexistent does not exist");
  expect("train -c " + w.config.string() + " -o " + w.dir.string() + "/", "is a folder, not a file");
  EXPECT_FALSE(fs::exists(w.dir / "x.int8.onnx")) << "nothing written on a refused run";
  EXPECT_FALSE(fs::exists(w.dir / "x.ckpt.onnx")) << "no checkpoint before the folders are checked";
  EXPECT_EQ(cli("qat --help", w.dir).code, 0);
  EXPECT_EQ(cli("train --help", w.dir).code, 0);
}

TEST(QatBadInput, NanLossStopsAndKeepsTheLastGoodCheckpoint) {
  Workspace good = small_config("qat_nan_good");
  fs::path ck = good.dir / "ck.onnx";
  ASSERT_EQ(cli("train -q -c " + good.config.string() + " -o " + ck.string(), good.dir).code, 0);
  auto before = read_file(ck.string());
  Workspace bad = small_config("qat_nan_bad", "", "1e30");  // diverges within the first epoch
  auto r = cli("train -q -c " + bad.config.string() + " -o " + ck.string(), bad.dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("training stopped: the loss became"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in fp32 epoch 1"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(ck.string()), before) << "a diverged run must not replace the last good checkpoint";
}

}  // namespace
}  // namespace tinyqat::test
