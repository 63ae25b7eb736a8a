// One reader for "these files feed this model's inputs" (io/model_data.h): the reader's rules, then every
// command that takes data for a model (run, bench, ptq, compare, quantize, measure) accepting the same
// forms — a labelled .npz (extra arrays such as the clean target), a bare .npy for a single-input model,
// NAME=FILE.npy — and refusing the same bad ones with the same message.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "io/model_data.h"
#include "ir/builder.h"
#include "onnx/onnx_io.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelData, EveryFormAndEveryRefusal) {
  fs::path dir = temp_dir("model-data");
  const Tensor a = Tensor::from_f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = Tensor::from_f32({2, 1}, {7, 8});
  const std::string npz = (dir / "set.npz").string(), npy = (dir / "a.npy").string(),
                    empty = (dir / "empty.npz").string(), b_npy = (dir / "b.npy").string();
  write_npz(npz, {{"label", b}, {"a", a}}, false);
  write_npy(npy, a);
  write_npy(b_npy, b);
  write_npz(empty, {}, false);

  // A labelled set: the input by name, the label kept apart (and after the inputs in all()).
  // Without read_others the label is only named (never inflated).
  ModelData d = read_model_data({npz}, {"a"}, "--data");
  ASSERT_EQ(d.inputs.size(), 1u);
  EXPECT_TRUE(d.others.empty());
  ASSERT_EQ(d.other_names.size(), 1u);
  EXPECT_EQ(d.other_names[0], "label");
  d = read_model_data({npz}, {"a"}, "--data", true, /*read_others=*/true);
  ASSERT_EQ(d.inputs.size(), 1u);
  EXPECT_EQ(d.inputs[0].first, "a");
  EXPECT_EQ(d.inputs[0].second.data<float>()[5], 6.f);
  ASSERT_EQ(d.others.size(), 1u);
  EXPECT_EQ(d.others[0].first, "label");
  EXPECT_EQ(d.all()[1].first, "label");
  // A bare .npy feeds the single input; NAME=FILE.npy names it.
  EXPECT_EQ(read_model_data({npy}, {"a"}, "--data").inputs[0].first, "a");
  EXPECT_EQ(read_model_data({"a=" + npy}, {"a"}, "--data").inputs[0].first, "a");
  // Two inputs from two files, in the model's order whatever the order given.
  d = read_model_data({"b=" + b_npy, "a=" + npy}, {"a", "b"}, "--input");
  ASSERT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.inputs[0].first, "a");
  EXPECT_EQ(d.inputs[1].first, "b");
  // Bytes already read (the gate) follow the same rules.
  EXPECT_EQ(parse_model_data(read_file(npz), npz, {"a"}, "--data").inputs[0].first, "a");

  auto refused = [&](std::vector<std::string> specs, std::vector<std::string> inputs, const std::string& want,
                     bool all = true) {
    std::string e = error_of([&] { read_model_data(specs, inputs, "--data", all); });
    EXPECT_NE(e.find(want), std::string::npos) << "want '" << want << "', got '" << e << "'";
    EXPECT_NE(e.find("--data"), std::string::npos) << e;
  };
  refused({npz}, {"x"}, "no array named 'x'");
  refused({npy}, {"a", "b"}, "a .npy serves single-input models only");
  refused({"zz=" + npy}, {"a"}, "the model has no input named 'zz'");
  refused({npz, npy}, {"a"}, "input 'a' is given twice");
  refused({"a=" + npz}, {"a"}, "NAME= takes a .npy");
  refused({empty}, {"a"}, "empty");
  refused({"=" + npy}, {"a"}, "expected FILE.npz, FILE.npy or NAME=FILE.npy");
  EXPECT_TRUE(read_model_data({"b=" + b_npy}, {"a", "b"}, "--input", /*require_all=*/false).inputs.size() ==
              1);
}

// Each command on the same three forms of the same data, and on a set without the model's input.
TEST(ModelData, EveryCommandAcceptsTheSameForms) {
  fs::path dir = temp_dir("model-data-cli");
  const std::string fp32 = (dir / "lf.onnx").string();
  export_onnx(zoo::learned_filter(1, 8, 2, 5), fp32);
  const Tensor x = luma_images(6, 32, 32, 3);
  const std::string labelled = (dir / "pairs.npz").string(), bare = (dir / "x.npy").string(),
                    wrong = (dir / "wrong.npz").string();
  write_npz(labelled, {{"clean", luma_images(6, 32, 32, 4)}, {"degraded", x}}, false);
  write_npy(bare, x);
  write_npz(wrong, {{"features", Tensor::zeros(DType::F32, {4, 6})}}, false);
  const std::string int8 = (dir / "lf.int8.onnx").string();
  ASSERT_EQ(cli(fmt::format("ptq {} --mode dynamic -o {}", fp32, int8), dir).code, 0);
  const std::string reg = (dir / "registry.json").string();
  ASSERT_EQ(
      cli(fmt::format("registry add {} --id lf --onnx {} --int8 {} --license MIT", reg, fp32, int8), dir)
          .code,
      0);

  std::map<std::string, std::string> outputs;  // run's output for each form: all the same
  for (const std::string& spec : {labelled, bare, "degraded=" + bare}) {
    const std::string tag = fs::path(spec).filename().string() + (spec[0] == 'd' ? ".named" : "");
    const std::string run_out = (dir / ("run-" + tag + ".npz")).string();
    const std::vector<std::string> commands = {
        fmt::format("run {} --input {} --out {}", fp32, spec, run_out),
        fmt::format("bench {} --input {} --iterations 1 --warmup 0", fp32, spec),
        fmt::format("ptq {} --mode static --calibration {} -o {}", fp32, spec,
                    (dir / ("s-" + tag + ".onnx")).string()),
        fmt::format("compare {} {} --data {}", fp32, int8, spec),
        fmt::format("quantize {} --budget 1 --data {} --calibration {} --no-qat -o {}", fp32, spec, spec,
                    (dir / ("q-" + tag + ".onnx")).string()),
    };
    for (const auto& c : commands) {
      CliResult r = cli(c, dir);
      EXPECT_EQ(r.code, 0) << c << "\n" << r.err;
    }
    outputs[tag] = text_of(run_out);
    if (spec.find('=') == std::string::npos) {  // measure's --data takes FILE or ID=FILE
      for (const std::string& data : {spec, "lf=" + spec}) {
        CliResult r = cli(fmt::format("measure lf --registry {} --data {}", reg, data), dir);
        EXPECT_EQ(r.code, 0) << data << "\n" << r.err;
      }
    }
  }
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs["pairs.npz"], outputs["x.npy"]);
  EXPECT_EQ(outputs["x.npy"], outputs["x.npy.named"]);

  // A set without the model's input: every command says so the same way, exit 2, nothing written.
  const std::string out = (dir / "never.onnx").string();
  for (const std::string& c :
       {fmt::format("run {} --input {} --out {}", fp32, wrong, (dir / "never").string()),
        fmt::format("bench {} --input {}", fp32, wrong),
        fmt::format("ptq {} --mode static --calibration {} -o {}", fp32, wrong, out),
        fmt::format("compare {} {} --data {}", fp32, int8, wrong),
        fmt::format("quantize {} --budget 1 --data {} -o {}", fp32, wrong, out),
        fmt::format("measure lf --registry {} --data {}", reg, wrong)}) {
    CliResult r = cli(c, dir);
    EXPECT_EQ(r.code, 2) << c;
    EXPECT_NE((r.err + r.out).find("no array named 'degraded'"), std::string::npos) << c << "\n"
                                                                                    << r.err << r.out;
    EXPECT_NE((r.err + r.out).find("wrong.npz"), std::string::npos) << c << "\n" << r.err << r.out;
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir / "never"));
}

}  // namespace
}  // namespace tinyqat::test
