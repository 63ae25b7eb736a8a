// Accuracy on data the calibration never saw: clipping outside the calibrated ranges counted exactly
// (compare, measure), calibration coverage and range headroom (ptq), and the bootstrap interval of the
// PLCC drop the gate can be asked to pass on.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "handoff/gate.h"
#include "handoff/handoff.h"
#include "io/npy.h"
#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "quant/bootstrap.h"
#include "quant/compare.h"
#include "quant/ladder.h"
#include "quant/ptq.h"
#include "quant/sensitivity.h"
#include "registry/registry.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

using json = nlohmann::json;

// features[N, 4] → Gemm (identity weights, zero bias) → Relu → "h" → Gemm → score. The identity is
// exact in int8 (absmax 1 → 127), so the fp32 value of h is max(x, 0) and every count below is known.
Model clip_model() {
  GraphBuilder b("clip");
  auto x = b.input("features", DType::F32, {"N", 4});
  std::vector<float> eye(16, 0.f);
  for (int i = 0; i < 4; ++i) eye[i * 5] = 1.f;
  auto pre = b.op("Gemm",
                  {x, b.constant("w1", Tensor::from_f32({4, 4}, eye)),
                   b.constant("b1", Tensor::from_f32({4}, {0, 0, 0, 0}))},
                  {{"transB", Attribute::of_int(1)}});
  auto h = b.op("Relu", {pre});
  auto y = b.op("Gemm",
                {h, b.constant("w2", Tensor::from_f32({1, 4}, {0.5f, -0.25f, 0.75f, 1.f})),
                 b.constant("b2", Tensor::from_f32({1}, {0.1f}))},
                {{"transB", Attribute::of_int(1)}});
  b.output(y, "score");
  return b.finish();
}

// Calibration: values in [0, 1], both ends present, so minmax gives every tensor the range [0, 1].
NamedTensors clip_calibration() {
  Rng r(5);
  Tensor t = random_tensor({40, 4}, r, 0.f, 1.f);
  float* p = t.data<float>();
  for (int j = 0; j < 4; ++j) {
    p[j] = 0.f;
    p[4 + j] = 1.f;
  }
  return {{"features", t}};
}

// Evaluation: 10 rows × 4 values, 0.5 everywhere except five 3.0 (above the range) and two −2.0 (below).
NamedTensors clip_eval() {
  std::vector<float> v(40, 0.5f);
  for (int i : {1, 6, 13, 22, 39}) v[i] = 3.f;
  for (int i : {8, 30}) v[i] = -2.f;
  return {{"features", Tensor::from_f32({10, 4}, v)}};
}

Model clip_int8() {
  quant::QConfig cfg;
  cfg.method = quant::CalibMethod::MinMax;
  return quant::ptq_static(clip_model(), clip_calibration(), cfg, nullptr);
}

const quant::LayerComparison* layer(const quant::Comparison& c, const std::string& tensor) {
  for (const auto& l : c.layers)
    if (l.tensor == tensor) return &l;
  return nullptr;
}

TEST(Clipping, CountsEveryValueOutsideTheCalibratedRange) {
  Model fp32 = clip_model(), q = clip_int8();
  for (bool per_layer : {true, false}) {
    quant::CompareOptions o;
    o.per_layer = per_layer;
    o.clipping = !per_layer;
    quant::Comparison c = quant::compare_models(fp32, q, clip_eval(), o);
    const std::string h = fp32.graph.nodes[1].outputs[0], pre = fp32.graph.nodes[0].outputs[0];
    const auto *in = layer(c, "features"), *act = layer(c, h), *copy = layer(c, pre);
    ASSERT_TRUE(in && act && copy) << quant::comparison_text(c);
    // The input: 2 below, 5 above, of 40; overshoot 2 (3.0 is 2 ranges of width 1 above 1.0).
    EXPECT_TRUE(in->clipping.known);
    EXPECT_NEAR(in->clipping.lo, 0.0, 1e-9);
    EXPECT_NEAR(in->clipping.hi, 1.0, 1e-6);
    EXPECT_EQ(in->clipping.values, 40);
    EXPECT_EQ(in->clipping.below, 2);
    EXPECT_EQ(in->clipping.above, 5);
    EXPECT_NEAR(in->clipping.share(), 7.0 / 40, 1e-12);
    EXPECT_NEAR(in->clipping.max_overshoot, 2.0, 1e-5);
    // After the Relu: the negatives are zeros, inside the range; the five 3.0 still clip.
    EXPECT_EQ(act->clipping.below, 0);
    EXPECT_EQ(act->clipping.above, 5);
    EXPECT_EQ(act->node, fp32.graph.nodes[1].name);
    // The Gemm's pre-activation copy is named as such and its clipping below is not warned about.
    EXPECT_EQ(copy->pre_activation_of, h);
    EXPECT_EQ(copy->clipping.below, 2);
    auto warned = quant::clipping_over(c, 0.001);
    ASSERT_EQ(warned.size(), 2u);
    EXPECT_EQ(warned[0]->tensor, "features");
    EXPECT_EQ(warned[1]->tensor, h);
    EXPECT_TRUE(quant::clipping_over(c, 0.2).empty()) << "7/40 and 5/40 are below 0.2";
  }
  // Data inside the calibrated range clips nothing.
  quant::CompareOptions o;
  o.clipping = true;
  quant::Comparison c =
      quant::compare_models(fp32, q, {{"features", Tensor::from_f32({1, 4}, {0.2f, 0.4f, 0.6f, 0.8f})}}, o);
  for (const auto& l : c.layers) EXPECT_EQ(l.clipping.below + l.clipping.above, 0) << l.tensor;
}

TEST(Clipping, JsonAndTextCarryItPerTensor) {
  quant::CompareOptions o;
  o.per_layer = true;
  quant::Comparison c = quant::compare_models(clip_model(), clip_int8(), clip_eval(), o);
  json j = json::parse(quant::comparison_json(c));
  ASSERT_TRUE(j.contains("layers"));
  bool found = false;
  for (const auto& l : j["layers"]) {
    ASSERT_TRUE(l.contains("clipping")) << l.dump();
    if (l["tensor"] == "features") {
      found = true;
      EXPECT_EQ(l["clipping"]["below_count"], 2);
      EXPECT_EQ(l["clipping"]["above_count"], 5);
      EXPECT_NEAR(l["clipping"]["above"].get<double>(), 5.0 / 40, 1e-12);
      EXPECT_NEAR(l["clipping"]["max_overshoot"].get<double>(), 2.0, 1e-5);
    }
  }
  EXPECT_TRUE(found);
  std::string text = quant::comparison_text(c);
  EXPECT_NE(text.find("clipped 5 % / 12.5 %"), std::string::npos) << text;
}

// A registry with the clip model and its int8 twin; eval data written beside it.
struct ClipRegistry {
  fs::path dir, registry, eval;
};
ClipRegistry clip_registry(const std::string& name, const NamedTensors& eval,
                           const std::vector<std::pair<std::string, double>>& entries) {
  ClipRegistry r;
  r.dir = temp_dir(name);
  r.registry = r.dir / "registry.json";
  r.eval = r.dir / "eval.npz";
  export_onnx(clip_model(), (r.dir / "clip.onnx").string());
  export_onnx(clip_int8(), (r.dir / "clip.int8.onnx").string());
  write_npz(r.eval.string(), eval, false);
  for (const auto& [id, budget] : entries) {
    handoff::Artifact a;
    a.registry = r.registry.string();
    a.id = id;
    a.fp32 = (r.dir / "clip.onnx").string();
    a.int8 = (r.dir / "clip.int8.onnx").string();
    a.quant_mode = "static";
    a.license = "MIT";
    a.budget = budget;
    handoff::register_artifact(a);
  }
  return r;
}

// compare --per-layer --plot: the SQNR chart beside the text/JSON; --plot alone is refused.
TEST(Clipping, ComparePlotsSqnrPerNode) {
  ClipRegistry r = clip_registry("compare-plot", clip_eval(), {});
  const std::string base = fmt::format("compare '{0}/clip.onnx' '{0}/clip.int8.onnx' --data '{1}'",
                                       r.dir.string(), r.eval.string());
  CliResult ok = cli(base + fmt::format(" --per-layer --json --plot '{}/sqnr.png'", r.dir.string()), r.dir);
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(json::accept(ok.out)) << "the JSON is still the whole of stdout";
  const auto png = read_file((r.dir / "sqnr.png").string());
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(std::string(png.begin() + 1, png.begin() + 4), "PNG");
  const int cols = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
  EXPECT_EQ(cols, 1100);
  CliResult refused = cli(base + fmt::format(" --plot '{}/x.png'", r.dir.string()), r.dir);
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_FALSE(fs::exists(r.dir / "x.png"));
}

TEST(Clipping, MeasureWarnsOncePerTensorOverTheThreshold) {
  ClipRegistry cr = clip_registry("clip-gate", clip_eval(), {{"clip", 1.0}});
  registry::Registry reg = registry::load_registry(cr.registry.string());
  handoff::GateOptions g;
  g.data = cr.eval.string();
  handoff::GateReport rep = handoff::run_gate(reg, {}, g);
  ASSERT_EQ(rep.results.size(), 1u);
  ASSERT_EQ(rep.results[0].clipping.size(), 2u) << handoff::gate_text(rep);
  std::string text = handoff::gate_text(rep);
  size_t warnings = 0;
  for (size_t p = 0; (p = text.find("warning: clipping:", p)) != std::string::npos; ++p) ++warnings;
  EXPECT_EQ(warnings, 2u) << text;
  EXPECT_NE(text.find("features: clips 17.5 % of its values (below 5 %, above 12.5 %)"), std::string::npos)
      << text;
  json j = json::parse(handoff::gate_json(rep));
  EXPECT_EQ(j["models"][0]["clipping_warnings"].size(), 2u);
  EXPECT_EQ(j["models"][0]["clipping_warnings"][0]["clipping"]["above_count"], 5);
  // A threshold above both shares: no warning.
  g.clip_warn = 0.2;
  EXPECT_TRUE(handoff::run_gate(reg, {}, g).results[0].clipping.empty());
  // The command line: the default threshold warns, --clip-warn 1 does not.
  CliResult c =
      cli(fmt::format("measure clip --registry '{}' --data '{}'", cr.registry.string(), cr.eval.string()),
          cr.dir);
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("warning: clipping: features"), std::string::npos) << c.out;
  c = cli(fmt::format("measure clip --registry '{}' --data '{}' --clip-warn 1", cr.registry.string(),
                      cr.eval.string()),
          cr.dir);
  EXPECT_EQ(c.out.find("warning: clipping"), std::string::npos) << c.out;
}

TEST(Clipping, PtqReportsCoverageAndWarnsOnThinOrStillGrowingCalibration) {
  quant::QConfig cfg;
  cfg.method = quant::CalibMethod::MinMax;
  quant::PtqReport rep;
  quant::ptq_static(clip_model(), clip_calibration(), cfg, &rep);
  ASSERT_EQ(rep.coverage.inputs.size(), 1u);
  EXPECT_EQ(rep.coverage.inputs[0].name, "features");
  EXPECT_EQ(rep.coverage.inputs[0].min, 0.0);
  EXPECT_EQ(rep.coverage.inputs[0].max, 1.0);
  EXPECT_EQ(rep.coverage.early_samples, 16) << "3/4 of 40 rounded down to the runner's chunk of 16";
  EXPECT_TRUE(rep.coverage.growing.empty()) << "both ends are in the first rows";
  // Sorted calibration: the last quarter holds the largest values → the range still grew.
  std::vector<float> v;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 4; ++j) v.push_back(static_cast<float>(i) / 63.f);
  quant::PtqReport sorted;
  quant::ptq_static(clip_model(), {{"features", Tensor::from_f32({64, 4}, v)}}, cfg, &sorted);
  EXPECT_EQ(sorted.coverage.early_samples, 48);
  ASSERT_FALSE(sorted.coverage.growing.empty());
  // The input and the Relu after the identity grow alike: from [0, 47/63] to [0, 1].
  bool input_named = false;
  for (const auto& g : sorted.coverage.growing) {
    input_named |= g.tensor == "features";
    EXPECT_NEAR(g.growth, 1.0 - 47.0 / 63.0, 1e-6) << g.tensor;
  }
  EXPECT_TRUE(input_named);
  // The command line prints both warnings.
  fs::path dir = temp_dir("coverage-cli");
  export_onnx(clip_model(), (dir / "clip.onnx").string());
  write_npz((dir / "sorted.npz").string(), {{"features", Tensor::from_f32({64, 4}, v)}}, false);
  write_npz((dir / "few.npz").string(),
            {{"features", Tensor::from_f32({8, 4}, std::vector<float>(v.begin(), v.begin() + 32))}}, false);
  CliResult c = cli(fmt::format("ptq '{}' -o '{}' --calibration '{}'", (dir / "clip.onnx").string(),
                                (dir / "q.onnx").string(), (dir / "sorted.npz").string()),
                    dir);
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.err.find("calibration coverage: 64 samples"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("input features: min 0, max 1"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("warning: the observed range was still growing over the last 16 of 64"),
            std::string::npos)
      << c.err;
  EXPECT_EQ(c.err.find("warning: only"), std::string::npos) << c.err;
  c = cli(fmt::format("ptq '{}' -o '{}' --calibration '{}'", (dir / "clip.onnx").string(),
                      (dir / "q.onnx").string(), (dir / "few.npz").string()),
          dir);
  EXPECT_NE(c.err.find("warning: only 8 calibration samples (fewer than 32)"), std::string::npos) << c.err;
}

TEST(RangeMargin, WidensEveryRangeAndZeroChangesNoByte) {
  quant::QConfig cfg;
  cfg.method = quant::CalibMethod::MinMax;
  const Model fp32 = clip_model();
  quant::PtqReport plain, zero, wide;
  Model a = quant::ptq_static(fp32, clip_calibration(), cfg, &plain);
  cfg.range_margin = 0.0;
  Model b = quant::ptq_static(fp32, clip_calibration(), cfg, &zero);
  EXPECT_EQ(export_onnx_bytes(a), export_onnx_bytes(b)) << "margin 0 is the default: same bytes";
  cfg.range_margin = 0.25;
  Model c = quant::ptq_static(fp32, clip_calibration(), cfg, &wide);
  ASSERT_EQ(plain.activations.size(), wide.activations.size());
  for (const auto& [t, p] : plain.activations) {
    const auto& w = wide.activations.at(t);
    EXPECT_NEAR(w.scale, p.scale * 1.25f, 1e-6 * p.scale) << t;
    EXPECT_EQ(w.zero_point, p.zero_point) << t;
  }
  // With headroom the evaluation's 3.0 values still clip (range [0, 1.25]), but less far.
  quant::CompareOptions o;
  o.clipping = true;
  auto cmp = quant::compare_models(fp32, c, clip_eval(), o);
  EXPECT_NEAR(layer(cmp, "features")->clipping.hi, 1.25, 1e-5);
  EXPECT_NEAR(layer(cmp, "features")->clipping.max_overshoot, 2.0 / 1.25, 1e-5) << "−2.0 below 0";
  bool named = false;
  for (const auto& [k, v] : c.metadata)
    named |= k == "tinyqat.qconfig" && v.find("range_margin=0.25") != std::string::npos;
  EXPECT_TRUE(named);
  // The command line: refused with --mode dynamic, listed with its default in --help.
  fs::path dir = temp_dir("margin-cli");
  export_onnx(fp32, (dir / "clip.onnx").string());
  CliResult r = cli(fmt::format("ptq '{}' -o '{}' --mode dynamic --range-margin 0.1",
                                (dir / "clip.onnx").string(), (dir / "q.onnx").string()),
                    dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--range-margin"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "q.onnx"));
  r = cli("ptq --help", dir);
  EXPECT_NE(r.out.find("--range-margin"), std::string::npos);
}

// x[N, 4, 8, 8] in [0, 1] → depthwise 3×3 Conv without bias (every weight but one per channel rounds
// down to int8 by 0.4 of a step, so its int8 output is biased low by about 8 · 0.4/127 · mean(x)) →
// Relu → 1×1 Conv with bias → "y" (a float head).
Model biased_conv_model() {
  GraphBuilder b("biased");
  auto x = b.input("x", DType::F32, {"N", 4, 8, 8});
  std::vector<float> dw;
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 9; ++k) dw.push_back(k == 4 ? 1.f : static_cast<float>(10 + 7 * k + c) + 0.4f);
  for (auto& v : dw) v = v == 1.f ? 1.f : v / 127.f;
  auto h = b.op("Conv", {x, b.constant("dw", Tensor::from_f32({4, 1, 3, 3}, dw))},
                {{"group", Attribute::of_int(4)}, {"pads", Attribute::of_ints({1, 1, 1, 1})}});
  h = b.op("Relu", {h});
  auto y = b.op(
      "Conv",
      {h,
       b.constant("pw", Tensor::from_f32({2, 4, 1, 1}, {0.5f, -0.3f, 0.8f, 0.2f, -0.6f, 0.4f, 0.1f, 0.9f})),
       b.constant("pb", Tensor::from_f32({2}, {0.05f, -0.1f}))});
  b.output(y, "y");
  return b.finish();
}

NamedTensors biased_conv_data(int64_t n, uint64_t seed) {
  Rng r(seed);
  return {{"x", random_tensor({n, 4, 8, 8}, r, 0.f, 1.f)}};
}

// Per output channel: the mean of int8 − fp32 over the samples.
std::vector<double> mean_error(const Model& fp32, const Model& int8, const NamedTensors& data) {
  const Tensor a = Executor(fp32).run(data)[0], q = Executor(int8).run(data)[0];
  const int64_t C = a.dim(1), inner = a.numel() / a.dim(0) / C;
  std::vector<double> e(static_cast<size_t>(C), 0.0);
  for (int64_t i = 0; i < a.numel(); ++i)
    e[static_cast<size_t>((i / inner) % C)] += q.data<float>()[i] - a.data<float>()[i];
  for (auto& v : e) v /= static_cast<double>(a.numel() / C);
  return e;
}

TEST(BiasCorrection, RemovesTheMeanShiftOfQuantizationAndIsTheDefault) {
  const Model fp32 = biased_conv_model();
  const NamedTensors calib = biased_conv_data(32, 3), held_out = biased_conv_data(32, 11);
  quant::QConfig on, off;
  EXPECT_TRUE(on.bias_correction) << "on by default";
  EXPECT_FALSE(quant::preset("seed").bias_correction) << "the seed's preset has none";
  off.bias_correction = false;
  quant::PtqReport rep_on, rep_off;
  const Model q_on = quant::ptq_static(fp32, calib, on, &rep_on);
  const Model q_off = quant::ptq_static(fp32, calib, off, &rep_off);
  ASSERT_EQ(rep_on.bias_corrections.size(), 2u) << "both convs, the one without a bias too";
  EXPECT_TRUE(rep_off.bias_corrections.empty());
  EXPECT_GT(rep_on.bias_corrections[0].max_shift, 0.004);
  for (const auto& [data, name, factor] :
       {std::tuple{&calib, "calibration", 0.05}, std::tuple{&held_out, "held-out", 0.25}}) {
    const auto e_off = mean_error(fp32, q_off, *data), e_on = mean_error(fp32, q_on, *data);
    for (size_t c = 0; c < e_off.size(); ++c) {
      EXPECT_GT(std::fabs(e_off[c]), 0.004)
          << name << " channel " << c << ": the model is built to be biased";
      EXPECT_LT(std::fabs(e_on[c]), factor * std::fabs(e_off[c])) << name << " channel " << c;
    }
  }
  // The bias-less depthwise conv got an int32 bias; the file says how it was made, and compare reads it.
  int conv_with_bias = 0;
  for (const auto& n : q_on.graph.nodes) conv_with_bias += n.op_type == "Conv" && n.inputs.size() == 3;
  EXPECT_EQ(conv_with_bias, 2);
  bool known = false;
  EXPECT_TRUE(quant::qconfig_of(q_on, &known).bias_correction);
  EXPECT_TRUE(known);
  EXPECT_FALSE(quant::qconfig_of(q_off, &known).bias_correction);
  // The command line: on by default and says so, refused with --mode dynamic, off changes nothing else.
  fs::path dir = temp_dir("bias-cli");
  export_onnx(fp32, (dir / "m.onnx").string());
  write_npz((dir / "c.npz").string(), calib, false);
  CliResult r = cli(fmt::format("ptq '{}' -o '{}' --calibration '{}'", (dir / "m.onnx").string(),
                                (dir / "on.onnx").string(), (dir / "c.npz").string()),
                    dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("bias correction: 2 units"), std::string::npos) << r.err;
  EXPECT_EQ(read_file((dir / "on.onnx").string()), export_onnx_bytes(q_on));
  r = cli(fmt::format("ptq '{}' -o '{}' --calibration '{}' --bias-correction off", (dir / "m.onnx").string(),
                      (dir / "off.onnx").string(), (dir / "c.npz").string()),
          dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_file((dir / "off.onnx").string()), export_onnx_bytes(q_off));
  r = cli(fmt::format("ptq '{}' -o '{}' --mode dynamic --bias-correction on", (dir / "m.onnx").string(),
                      (dir / "d.onnx").string()),
          dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--bias-correction"), std::string::npos) << r.err;
}

// fp32 scores and an int8 version with noise of a chosen size, `n` samples of `per` values each.
void noisy(int64_t n, int per, double noise, uint64_t seed, std::vector<double>* a, std::vector<double>* b) {
  Rng r(seed);
  a->clear();
  b->clear();
  for (int64_t i = 0; i < n * per; ++i) {
    const double x = r.uniform(0.f, 100.f);
    a->push_back(x);
    b->push_back(x + noise * r.normal());
  }
}

double drop_of(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.size();
  mb /= b.size();
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return 1 - ab / std::sqrt(aa * bb);
}

TEST(Bootstrap, IntervalContainsThePointEstimate) {
  for (int per : {1, 16}) {
    std::vector<double> a, b;
    noisy(200, per, 3.0, 1, &a, &b);
    auto iv = quant::bootstrap_drop({a}, {b}, 200, 0.95);
    const double d = drop_of(a, b);
    EXPECT_LT(iv.low, d) << per;
    EXPECT_GT(iv.high, d) << per;
    EXPECT_GT(iv.low, 0.0);
    EXPECT_EQ(iv.resamples, 2000);
  }
}

TEST(Bootstrap, NarrowsWithMoreRowsAndWithLowerConfidence) {
  std::vector<double> a, b;
  noisy(50, 1, 3.0, 2, &a, &b);
  auto few = quant::bootstrap_drop({a}, {b}, 50, 0.95);
  noisy(800, 1, 3.0, 2, &a, &b);
  auto many = quant::bootstrap_drop({a}, {b}, 800, 0.95);
  auto narrow = quant::bootstrap_drop({a}, {b}, 800, 0.5);
  EXPECT_LT(many.high - many.low, 0.5 * (few.high - few.low));
  EXPECT_LT(narrow.high - narrow.low, many.high - many.low);
}

TEST(Bootstrap, DeterministicAndSeeded) {
  std::vector<double> a, b;
  noisy(100, 4, 2.0, 3, &a, &b);
  auto x = quant::bootstrap_drop({a}, {b}, 100, 0.95), y = quant::bootstrap_drop({a}, {b}, 100, 0.95);
  EXPECT_EQ(x.low, y.low);
  EXPECT_EQ(x.high, y.high);
  auto z = quant::bootstrap_drop({a}, {b}, 100, 0.95, quant::kBootstrapResamples, 99);
  EXPECT_NE(x.high, z.high) << "another seed draws other resamples";
  // The worst of two outputs: adding a noisier second output raises the interval.
  std::vector<double> c, d;
  noisy(100, 4, 6.0, 4, &c, &d);
  auto both = quant::bootstrap_drop({a, c}, {b, d}, 100, 0.95);
  EXPECT_GT(both.low, x.high);
  EXPECT_THROW(quant::bootstrap_drop({a}, {b}, 7, 0.95), Error) << "400 values are not 7 equal samples";
}

TEST(Gate, ConfidenceGatesOnTheIntervalsUpperEnd) {
  // Evaluation rows spread over and beyond the calibrated range: a real, noisy drop.
  Rng rng(9);
  NamedTensors eval = {{"features", random_tensor({60, 4}, rng, -0.5f, 1.6f)}};
  ClipRegistry probe = clip_registry("gate-confidence-probe", eval, {{"probe", 1.0}});
  handoff::GateOptions g;
  g.data = probe.eval.string();
  g.confidence = 0.95;
  auto rep = handoff::run_gate(registry::load_registry(probe.registry.string()), {}, g);
  ASSERT_EQ(rep.results[0].status, handoff::GateStatus::Pass) << handoff::gate_text(rep);
  const double d = rep.results[0].drop, hi = rep.results[0].interval.high;
  ASSERT_GT(d, 0.0);
  ASSERT_LT(rep.results[0].interval.low, d);
  ASSERT_GT(hi, d * 1.05) << handoff::gate_text(rep);
  // A budget between the point estimate and the upper end: PASS on the point, FAIL on the interval.
  ClipRegistry cr = clip_registry("gate-confidence", eval, {{"mid", (d + hi) / 2}, {"wide", hi * 1.01}});
  auto reg = registry::load_registry(cr.registry.string());
  g.data = cr.eval.string();
  g.confidence = 0;
  rep = handoff::run_gate(reg, {}, g);
  EXPECT_EQ(rep.results[0].status, handoff::GateStatus::Pass);
  EXPECT_EQ(rep.results[0].interval.confidence, 0.0);
  g.confidence = 0.95;
  rep = handoff::run_gate(reg, {}, g);
  EXPECT_EQ(rep.results[0].status, handoff::GateStatus::Fail) << handoff::gate_text(rep);
  EXPECT_EQ(rep.results[1].status, handoff::GateStatus::Pass) << handoff::gate_text(rep);
  EXPECT_EQ(rep.results[0].interval.high, hi) << "same data, same seed: same interval";
  std::string text = handoff::gate_text(rep);
  EXPECT_NE(text.find("95 % interval ["), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL  mid: upper end of the PLCC drop's interval"), std::string::npos) << text;
  json j = json::parse(handoff::gate_json(rep));
  EXPECT_EQ(j["models"][0]["drop_interval"]["confidence"], 0.95);
  EXPECT_EQ(j["models"][0]["drop_interval"]["high"].get<double>(), hi);
  EXPECT_EQ(j["models"][0]["drop_interval"]["resamples"], 2000);
  // The command line: exit 1 with the interval, 0 without; the interval is printed.
  const std::string base =
      fmt::format("measure mid --registry '{}' --data '{}'", cr.registry.string(), cr.eval.string());
  EXPECT_EQ(cli(base, cr.dir).code, 0);
  CliResult c = cli(base + " --confidence 0.95", cr.dir);
  EXPECT_EQ(c.code, 1) << c.out << c.err;
  EXPECT_NE(c.out.find("95 % interval"), std::string::npos) << c.out;
  EXPECT_EQ(cli(base + " --confidence 1.5", cr.dir).code, 2);
}

// A head that clips: calibration rows are one-hot (one feature in [0, 1], the rest 0), so every feature
// and hidden value stays in [0, 1] but the score (the mean of the four) reaches only 0.25; evaluation rows
// fill all four features, and with the output re-quantized the score clips at 0.25. Keeping the head's
// Gemm in fp32 removes the clipping; keeping the first Gemm in fp32 does not.
TEST(Sensitivity, NamesTheUnitWhoseExclusionHelps) {
  GraphBuilder b("head");
  auto x = b.input("features", DType::F32, {"N", 4});
  std::vector<float> eye(16, 0.f);
  for (int i = 0; i < 4; ++i) eye[i * 5] = 1.f;
  auto h = b.op("Relu", {b.op("Gemm", {x, b.constant("w1", Tensor::from_f32({4, 4}, eye))},
                              {{"transB", Attribute::of_int(1)}})});
  b.output(b.op("Gemm", {h, b.constant("w2", Tensor::from_f32({1, 4}, {0.25f, 0.25f, 0.25f, 0.25f}))},
                {{"transB", Attribute::of_int(1)}}),
           "score");
  Model fp32 = b.finish();
  fp32.graph.nodes[0].name = "first";
  fp32.graph.nodes[2].name = "head";
  Rng r(4);
  std::vector<float> calib(64 * 4, 0.f);
  for (int i = 0; i < 64; ++i) calib[i * 4 + i % 4] = i < 4 ? 1.f : r.uniform();
  NamedTensors cal = {{"features", Tensor::from_f32({64, 4}, calib)}};
  NamedTensors eval = {{"features", random_tensor({50, 4}, r, 0.f, 1.f)}};
  quant::QConfig cfg;
  cfg.method = quant::CalibMethod::MinMax;
  cfg.quantize_outputs = true;
  Model q = quant::ptq_static(fp32, cal, cfg, nullptr);
  bool known = false;
  quant::QConfig read = quant::qconfig_of(q, &known);
  EXPECT_TRUE(known);
  EXPECT_EQ(read.method, quant::CalibMethod::MinMax);
  EXPECT_EQ(read.activations, cfg.activations);
  EXPECT_TRUE(read.quantize_outputs);
  // The metadata is file content: a margin that is no number is an Error, not an exception escaping.
  Model odd = q;
  for (auto& [k, v] : odd.metadata)
    if (k == "tinyqat.qconfig") v += ",range_margin=abc";
  EXPECT_THROW(quant::qconfig_of(odd, &known), Error);
  int calls = 0;
  quant::Sensitivity s = quant::sensitivity(fp32, cal, eval, read, 1, [&](int done, int total) {
    ++calls;
    EXPECT_EQ(total, 4);
    EXPECT_EQ(done, calls);
  });
  EXPECT_EQ(calls, 4);
  ASSERT_EQ(s.units.size(), 2u);
  EXPECT_EQ(s.units[0].node, "head") << quant::sensitivity_text(s);
  EXPECT_GT(s.full_drop, 1e-2) << "the clipped score";
  EXPECT_LT(s.units[0].without_drop, 1e-3) << quant::sensitivity_text(s);
  EXPECT_GT(s.units[1].without_drop, 1e-2);
  EXPECT_GT(s.units[0].only_drop, 1e-2) << "the head alone clips";
  // The numbers are those of ptq --exclude.
  quant::QConfig without = read;
  without.exclude = {"head"};
  EXPECT_EQ(s.units[0].without_drop,
            quant::measure_drop(fp32, quant::ptq_static(fp32, cal, without, nullptr), eval, 1).drop);
  EXPECT_NE(quant::sensitivity_text(s).find("most sensitive: head (ptq --exclude head"), std::string::npos)
      << quant::sensitivity_text(s);
  EXPECT_EQ(json::parse(quant::sensitivity_json(s))["most_sensitive"], "head");
  EXPECT_EQ(json::parse(quant::sensitivity_json(s))["worst_alone"], "head");
}

// The ladder's selection rule on a given table (no timing in the test: the numbers are the table's).
quant::Rung row(const std::string& mode, double drop, bool within, double ms, int64_t bytes) {
  quant::Rung r;
  r.mode = mode;
  r.tried = true;
  r.drop = drop;
  r.within = within;
  r.latency_ms = ms;
  r.size_bytes = bytes;
  return r;
}

quant::Rung skipped(const std::string& mode) {
  quant::Rung r;
  r.mode = mode;
  r.message = "skipped";
  return r;
}

// learned_filter_v1 as issue 11 measured it: dynamic PTQ within the budget but slower than fp32 (15.3 ms
// against 13.7 ms), static within and 3× faster.
TEST(LadderChoice, LatencyKeepsTheFasterRungAndNeverOneSlowerThanFp32) {
  using quant::Objective;
  const std::vector<quant::Rung> t = {row("dynamic", 1.5e-4, true, 15.3, 30000),
                                      row("static", 3.7e-4, true, 4.8, 33000), skipped("mixed"),
                                      skipped("qat")};
  EXPECT_EQ(quant::choose_rung(t, 13.7, Objective::Latency), 1);
  // Slower than fp32 is dropped whatever the objective, while a rung that is not also meets the budget.
  EXPECT_EQ(quant::choose_rung(t, 13.7, Objective::Accuracy), 1);
  EXPECT_EQ(quant::choose_rung(t, 13.7, Objective::Effort), 1);
  EXPECT_EQ(quant::choose_rung(t, 13.7, Objective::Size), 1);
  // Without that constraint (fp32 slower than both) accuracy and size pick on their own numbers.
  EXPECT_EQ(quant::choose_rung(t, 20.0, Objective::Accuracy), 0);
  EXPECT_EQ(quant::choose_rung(t, 20.0, Objective::Size), 0);
  EXPECT_EQ(quant::choose_rung(t, 20.0, Objective::Latency), 1);
  // Static over the budget: the slow dynamic rung is all there is, and it is kept.
  std::vector<quant::Rung> over = t;
  over[1].within = false;
  EXPECT_EQ(quant::choose_rung(over, 13.7, Objective::Latency), 0);
  // Nothing within: -1 (the model stays fp32).
  over[0].within = false;
  EXPECT_EQ(quant::choose_rung(over, 13.7, Objective::Latency), -1);
  // A rung skipped never counts, even with numbers in it.
  std::vector<quant::Rung> untried = t;
  untried[1].tried = false;
  EXPECT_EQ(quant::choose_rung(untried, 13.7, Objective::Latency), 0);
}

// Effort keeps the seed's order: the first rung within the budget (that is not slower than fp32), even
// when a later one is faster; latency takes the faster one.
TEST(LadderChoice, EffortKeepsTheOldOrder) {
  using quant::Objective;
  const std::vector<quant::Rung> t = {row("dynamic", 1e-3, true, 9.0, 30000),
                                      row("static", 2e-3, true, 4.0, 33000),
                                      row("mixed", 5e-4, true, 6.0, 40000)};
  EXPECT_EQ(quant::choose_rung(t, 10.0, Objective::Effort), 0);
  EXPECT_EQ(quant::choose_rung(t, 10.0, Objective::Latency), 1);
  EXPECT_EQ(quant::choose_rung(t, 10.0, Objective::Accuracy), 2);
  EXPECT_EQ(quant::choose_rung(t, 10.0, Objective::Size), 0);
  // Latency not measured: every rung counts as fast, effort's order decides ties.
  std::vector<quant::Rung> unknown = t;
  for (auto& r : unknown) r.latency_ms.reset();
  EXPECT_EQ(quant::choose_rung(unknown, std::nullopt, Objective::Effort), 0);
  EXPECT_EQ(quant::choose_rung(unknown, std::nullopt, Objective::Latency), 0);

  // Which rungs the ladder goes on to try.
  const std::vector<quant::Rung> dyn = {t[0]};
  EXPECT_NE(quant::reason_to_skip(dyn, 10.0, Objective::Effort, "static"), "");   // dynamic settles it
  EXPECT_EQ(quant::reason_to_skip(dyn, 10.0, Objective::Latency, "static"), "");  // static may be faster
  EXPECT_EQ(quant::reason_to_skip(dyn, 8.0, Objective::Effort, "static"), "")
      << "dynamic is slower than fp32: effort goes on";
  const std::vector<quant::Rung> two = {t[0], t[1]};
  EXPECT_NE(quant::reason_to_skip(two, 10.0, Objective::Latency, "mixed"), "")
      << "static is the fastest form";
  EXPECT_NE(quant::reason_to_skip(two, 10.0, Objective::Latency, "qat"), "");
  EXPECT_EQ(quant::reason_to_skip(two, 10.0, Objective::Accuracy, "qat"), "") << "accuracy tries every rung";
  std::vector<quant::Rung> static_over = two;
  static_over[1].within = false;
  EXPECT_EQ(quant::reason_to_skip(static_over, 8.0, Objective::Latency, "mixed"), "");
  EXPECT_NE(quant::reason_to_skip(static_over, 10.0, Objective::Effort, "mixed"), "");
}

TEST(LadderChoice, SmallestKDoublesThenBisects) {
  std::vector<int> asked;
  EXPECT_EQ(quant::smallest_k(
                11, [](int k) { return k >= 5; }, &asked),
            5);
  EXPECT_EQ(asked, (std::vector<int>{1, 2, 4, 8, 6, 5}));
  asked.clear();
  EXPECT_EQ(quant::smallest_k(
                11, [](int) { return false; }, &asked),
            0);
  EXPECT_EQ(asked, (std::vector<int>{1, 2, 4, 8, 11}));
  asked.clear();
  EXPECT_EQ(quant::smallest_k(
                11, [](int) { return true; }, &asked),
            1);
  EXPECT_EQ(asked, (std::vector<int>{1}));
  EXPECT_EQ(quant::smallest_k(3, [](int k) { return k >= 3; }), 3);
  EXPECT_EQ(quant::smallest_k(0, [](int) { return true; }), 0);
}

// features[N, 4] → "wide" Gemm → Relu → Gemm → Relu → Gemm → score, where feature 0 arrives 1e4 times
// larger than the others and "wide" divides its weights on it by 1e4: the fp32 function is ordinary, but
// quantizing "wide" (its input per tensor, its weights per output channel) loses the small features to
// the large one's range and the large one's weights to rounding. Keeping that one unit in float is enough.
TEST(Ladder, MixedRungKeepsTheSmallestSetOfSensitiveUnitsInFloat) {
  Rng r(11);
  GraphBuilder b("wide");
  auto x = b.input("features", DType::F32, {"N", 4});
  Tensor w1 = random_tensor({8, 4}, r, -1.f, 1.f);
  for (int o = 0; o < 8; ++o) w1.data<float>()[o * 4] *= 1e-4f;
  auto h1 = b.op("Relu",
                 {b.op("Gemm", {x, b.constant("w1", w1), b.constant("b1", random_tensor({8}, r, 0.f, 0.5f))},
                       {{"transB", Attribute::of_int(1)}})});
  auto h2 = b.op("Relu", {b.op("Gemm",
                               {h1, b.constant("w2", random_tensor({8, 8}, r, -1.f, 1.f)),
                                b.constant("b2", random_tensor({8}, r, 0.f, 0.5f))},
                               {{"transB", Attribute::of_int(1)}})});
  b.output(b.op("Gemm", {h2, b.constant("w3", random_tensor({1, 8}, r, -1.f, 1.f))},
                {{"transB", Attribute::of_int(1)}}),
           "score");
  Model fp32 = b.finish();
  fp32.graph.nodes[0].name = "wide";
  auto features = [&](int64_t n) {
    Tensor t = random_tensor({n, 4}, r, 0.f, 1.f);
    for (int64_t i = 0; i < n; ++i) t.data<float>()[i * 4] *= 1e4f;
    return NamedTensors{{"features", t}};
  };
  const NamedTensors cal = features(64), eval = features(64);
  quant::LadderOptions lo;
  lo.budget = 1e-3;
  lo.latency_iterations = 2;
  lo.latency_warmup = 0;
  quant::LadderResult res = quant::run_ladder(fp32, eval, cal, lo);
  const std::string table = quant::ladder_text(res, lo.budget);
  ASSERT_EQ(res.rungs.size(), 4u) << table;
  EXPECT_FALSE(res.rungs[0].within) << table;
  ASSERT_TRUE(res.rungs[1].tried) << table;
  EXPECT_FALSE(res.rungs[1].within) << table;
  const quant::Rung& mixed = res.rungs[2];
  ASSERT_TRUE(mixed.tried) << table;
  EXPECT_TRUE(mixed.within) << table;
  EXPECT_EQ(mixed.kept_fp32, std::vector<std::string>{"wide"}) << table;
  EXPECT_EQ(mixed.units, 3);
  ASSERT_EQ(mixed.k_tried.size(), 1u) << "k = 1 meets the budget: the search stops there\n" << table;
  EXPECT_EQ(mixed.k_tried[0].first, 1);
  EXPECT_EQ(res.chosen, "mixed") << table;
  EXPECT_EQ(res.kept_fp32, std::vector<std::string>{"wide"});
  EXPECT_NE(table.find("kept in float: wide"), std::string::npos) << table;
  for (const auto& g : res.rungs)
    if (g.tried) {
      EXPECT_TRUE(g.latency_ms.has_value()) << g.mode;
      EXPECT_GT(*g.size_bytes, 0) << g.mode;
    }
  EXPECT_TRUE(res.fp32_latency_ms.has_value());
  // The kept file is exactly `ptq --exclude wide`: no measured number (latency) reaches its bytes.
  quant::QConfig cfg = lo.static_config;
  cfg.exclude = {"wide"};
  EXPECT_EQ(export_onnx_bytes(res.int8), export_onnx_bytes(quant::ptq_static(fp32, cal, cfg, nullptr)));
  const json j = json::parse(quant::ladder_json(res, lo.budget));
  EXPECT_EQ(j["chosen"], "mixed");
  EXPECT_EQ(j["rungs"][2]["kept_fp32"][0], "wide");
  EXPECT_TRUE(j["rungs"][1]["latency_ms"].is_number());
  EXPECT_TRUE(j["rungs"][1]["size_bytes"].is_number());
  EXPECT_NE(quant::ladder_markdown(res, lo.budget).find("| **mixed** |"), std::string::npos);

  // Effort, latency not measured (a deterministic ladder): with a budget every rung meets (dynamic's
  // output is constant here: drop 1) the old order holds — dynamic is kept and nothing above it is tried.
  lo.budget = 1;
  lo.objective = quant::Objective::Effort;
  lo.latency_iterations = 0;
  res = quant::run_ladder(fp32, eval, cal, lo);
  EXPECT_EQ(res.chosen, "dynamic") << quant::ladder_text(res, lo.budget);
  for (size_t i = 1; i < res.rungs.size(); ++i) EXPECT_FALSE(res.rungs[i].tried) << res.rungs[i].mode;
  // --no-mixed, budget 0: static is followed by the QAT rung's report alone.
  lo.budget = 0;
  lo.mixed = false;
  res = quant::run_ladder(fp32, eval, cal, lo);
  EXPECT_EQ(res.chosen, "");
  EXPECT_EQ(res.rungs[2].message, "skipped (--no-mixed)");
}

}  // namespace
}  // namespace tinyqat::test
