// tinyqat's runtime against ONNX Runtime 1.30 on the project's fixture models and, when ../shared is
// there, on the real models from the fork. Agreement per the int8 contract: fp32 outputs within
// 1e-4·max(1,|ref|); quantized tensors within one quantization step.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

std::vector<std::string> output_names(const Model& m) {
  std::vector<std::string> r;
  for (const auto& o : m.graph.outputs) r.push_back(o.name);
  return r;
}

// One quantization step for an output, or 0 for "compare as fp32". Integer outputs: 1; a float output
// made by DequantizeLinear: its scale.
double agreement_step(const Model& m, const std::string& out) {
  const Graph& g = m.graph;
  int p = g.producer(out);
  if (p < 0) return 0;
  const Node& n = g.nodes[p];
  if (n.op_type == "QuantizeLinear" || n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul") return 1;
  if (n.op_type == "DequantizeLinear" && n.input(1))
    if (const Tensor* s = g.initializer(*n.input(1))) return s->data<float>()[0];
  return 0;
}

void expect_agree(const Model& m, const std::vector<Tensor>& ours, const std::vector<Tensor>& ref,
                  const std::string& what) {
  auto names = output_names(m);
  ASSERT_EQ(ours.size(), ref.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    double step = agreement_step(m, names[i]);
    Agreement a = step > 0 ? compare_steps(ours[i], ref[i], step) : compare_fp32(ours[i], ref[i]);
    EXPECT_TRUE(a.ok) << what << " output '" << names[i] << "': " << a.where;
    std::printf("[agree] %-28s %-10s max|diff| %.3g%s\n", what.c_str(), names[i].c_str(), a.max_abs,
                step > 0 ? fmt::format(" (step {:.3g})", step).c_str() : "");
  }
}

class FixtureAgreement : public ::testing::TestWithParam<int> {};

TEST_P(FixtureAgreement, MatchesOnnxRuntimeAfterExportAndReimport) {
  Fixture f = fixtures()[GetParam()];
  fs::path dir = temp_dir("agree_" + f.name);
  fs::path path = dir / (f.name + ".onnx");
  check_onnx(f.model);
  export_onnx(f.model, path.string(), ExportOptions{f.external_threshold});
  if (f.external_threshold) {
    ASSERT_TRUE(fs::exists(dir / (f.name + ".onnx.data"))) << "external data file was not written";
  }
  Model m = import_onnx(path.string());
  bool dynamic_batch = !m.graph.inputs[0].shape[0].is_known();
  for (int64_t batch : dynamic_batch ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{1}) {
    NamedTensors in = f.inputs(batch);
    Executor ex(m);
    std::vector<Tensor> ours = ex.run(in);
    std::vector<Tensor> ref = ort_run(path, in, output_names(m), dir);
    expect_agree(m, ours, ref, fmt::format("{} batch {}", f.name, batch));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureAgreement, ::testing::Range(0, static_cast<int>(fixtures().size())),
                         [](const ::testing::TestParamInfo<int>& i) { return fixtures()[i.param].name; });

TEST(Export, IsByteIdenticalAndStableThroughReimport) {
  for (const Fixture& f : fixtures()) {
    auto a = export_onnx_bytes(f.model);
    auto b = export_onnx_bytes(f.model);
    EXPECT_EQ(a, b) << f.name;
    Model back = import_onnx_bytes(a.data(), a.size(), "", f.name);
    EXPECT_EQ(export_onnx_bytes(back), a) << f.name << ": import→export changed the bytes";
  }
}

TEST(Export, ReexportedModelsGiveOrtIdenticalOutputs) {
  fs::path dir = temp_dir("reexport");
  for (const Fixture& f : fixtures()) {
    fs::path p1 = dir / (f.name + ".onnx"), p2 = dir / (f.name + ".re.onnx");
    export_onnx(f.model, p1.string());
    export_onnx(import_onnx(p1.string()), p2.string());
    NamedTensors in = f.inputs(2);
    auto r1 = ort_run(p1, in, output_names(f.model), dir);
    auto r2 = ort_run(p2, in, output_names(f.model), dir);
    for (size_t i = 0; i < r1.size(); ++i)
      EXPECT_EQ(0, std::memcmp(r1[i].raw(), r2[i].raw(), r1[i].nbytes())) << f.name << " output " << i;
  }
}

TEST(Runtime, DeterministicForAFixedThreadCount) {
  for (const Fixture& f : fixtures()) {
    NamedTensors in = f.inputs(2);
    Executor a(f.model, ExecutorOptions{2}), b(f.model, ExecutorOptions{2});
    auto ra = a.run(in), ra2 = a.run(in), rb = b.run(in);
    for (size_t i = 0; i < ra.size(); ++i) {
      EXPECT_EQ(0, std::memcmp(ra[i].raw(), rb[i].raw(), ra[i].nbytes())) << f.name;
      EXPECT_EQ(0, std::memcmp(ra[i].raw(), ra2[i].raw(), ra[i].nbytes())) << f.name;
    }
  }
}

TEST(Runtime, NaNInputsPropagateWithoutCrashing) {
  Fixture f = fixtures()[0];
  NamedTensors in = f.inputs(4);
  in[0].second.data<float>()[0] = NAN;
  Executor ex(f.model);
  auto out = ex.run(in);
  EXPECT_TRUE(std::isnan(out[0].data<float>()[0])) << "NaN in sample 0 must reach its output";
  EXPECT_FALSE(std::isnan(out[0].data<float>()[1])) << "other samples stay finite";
}

// Real models from the fork: fp32 and its ORT dynamic-int8 files.
NamedTensors fork_inputs(const Model& m) {
  NamedTensors in;
  for (const auto& v : m.graph.inputs) {
    if (v.shape.size() == 4) {
      int64_t n = v.shape[0].is_known() ? v.shape[0].value : 2;
      int64_t h = v.shape[2].is_known() ? v.shape[2].value : 224,
              w = v.shape[3].is_known() ? v.shape[3].value : 224;
      in.emplace_back(v.name, luma_images(n, h, w, 7));
    } else {
      // VMAF features: the real vectors from the Netflix set.
      std::ifstream f(shared_dir() / "data" / "nflx_sv_features.csv");
      std::string line;
      std::getline(f, line);
      std::vector<float> vals;
      int64_t rows = 0;
      while (std::getline(f, line)) {
        std::vector<float> row;
        size_t pos = 0;
        while (pos <= line.size()) {
          size_t c = line.find(',', pos);
          row.push_back(std::stof(line.substr(pos, c == std::string::npos ? std::string::npos : c - pos)));
          if (c == std::string::npos) break;
          pos = c + 1;
        }
        vals.insert(vals.end(), row.begin(), row.begin() + 6);
        ++rows;
      }
      in.emplace_back(v.name, Tensor::from_f32({rows, 6}, vals));
    }
  }
  return in;
}

TEST(ForkModels, AgreeWithOnnxRuntime) {
  fs::path shared = shared_dir();
  if (shared.empty()) {
    std::printf("SKIP: ../shared/fork-models not found; the fork's real models were not checked\n");
    GTEST_SKIP() << "../shared/fork-models not found";
  }
  fs::path dir = temp_dir("fork");
  int checked = 0;
  for (const auto& e : fs::directory_iterator(shared / "fork-models")) {
    if (e.path().extension() != ".onnx") continue;
    Model m = import_onnx(e.path().string());
    NamedTensors in = fork_inputs(m);
    Executor ex(m);
    auto ours = ex.run(in);
    auto ref = ort_run(e.path(), in, output_names(m), dir);
    expect_agree(m, ours, ref, e.path().filename().string());
    // Round trip through our exporter: same opset, identical ORT outputs.
    fs::path again = dir / ("re_" + e.path().filename().string());
    export_onnx(m, again.string());
    Model back = import_onnx(again.string());
    EXPECT_EQ(back.opset, m.opset) << "an unchanged model keeps its opset";
    auto ref2 = ort_run(again, in, output_names(m), dir);
    for (size_t i = 0; i < ref.size(); ++i)
      EXPECT_EQ(0, std::memcmp(ref[i].raw(), ref2[i].raw(), ref[i].nbytes()))
          << e.path().filename() << ": ORT outputs changed after import→export";
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace tinyqat::test
