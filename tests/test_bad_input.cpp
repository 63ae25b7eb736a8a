// Bad input never crashes: every case below ends in one clear Error (exit code 2 from the CLI) that
// names the file and what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include <sys/resource.h>

#include <onnx/onnx_pb.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "io/zip.h"
#include "ir/builder.h"
#include "ir/op_math.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

std::string import_error(const fs::path& p) {
  try {
    import_onnx(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Model tiny_model() {
  GraphBuilder b("tiny");
  auto x = b.input("x", DType::F32, {"N", 6});
  b.output(b.op("Relu", {b.op("Gemm", {x, b.constant("w", Tensor::zeros(DType::F32, {6, 2}))})}), "y");
  return b.finish();
}

TEST(BadModel, TruncatedProtobuf) {
  fs::path dir = temp_dir("bad_truncated");
  auto bytes = export_onnx_bytes(tiny_model());
  bytes.resize(bytes.size() / 2);
  fs::path p = dir / "t.onnx";
  write_file_atomic(p.string(), bytes);
  std::string e = import_error(p);
  EXPECT_NE(e.find(p.string()), std::string::npos) << e;
  EXPECT_NE(e.find("not a valid ONNX model"), std::string::npos) << e;
  auto r = cli("inspect " + p.string(), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a valid ONNX model"), std::string::npos) << r.err;
}

TEST(BadModel, CorruptBytesNeverCrash) {
  fs::path dir = temp_dir("bad_corrupt");
  auto good = export_onnx_bytes(tiny_model());
  Rng rng(5);
  int errors = 0;
  for (int trial = 0; trial < 200; ++trial) {
    auto b = good;
    for (int k = 0; k < 4; ++k) b[rng.next() % b.size()] = static_cast<uint8_t>(rng.next());
    try {
      Model m = import_onnx_bytes(b.data(), b.size(), dir.string(), "corrupt.onnx");
      Executor ex(m);
      (void)ex;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0) << "random corruption should be detected at least sometimes";
}

TEST(BadModel, NotAnOnnxFile) {
  fs::path dir = temp_dir("bad_notonnx");
  fs::path p = dir / "readme.onnx";
  write_file_atomic(p.string(), std::string("# just some text, definitely not a model\n"));
  std::string e = import_error(p);
  EXPECT_NE(e.find("readme.onnx"), std::string::npos) << e;
  fs::path empty = dir / "empty.onnx";
  write_file_atomic(empty.string(), std::string());
  EXPECT_NE(import_error(empty).find("not an ONNX model"), std::string::npos) << import_error(empty);
  auto r = cli("inspect " + p.string(), dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  EXPECT_EQ(cli("inspect " + (dir / "nope.onnx").string(), dir).code, 2);
}

TEST(BadModel, UnknownOperatorIsNamed) {
  fs::path dir = temp_dir("bad_unknown_op");
  Model m = tiny_model();
  m.graph.nodes[1].op_type = "FancyAttention";
  fs::path p = dir / "op.onnx";
  write_file_atomic(p.string(), export_onnx_bytes(m));
  std::string e = import_error(p);
  EXPECT_NE(e.find("FancyAttention"), std::string::npos) << e;
  EXPECT_NE(e.find(m.graph.nodes[1].name), std::string::npos) << "names the node: " << e;
  EXPECT_NE(e.find("opset 17"), std::string::npos) << "names the opset: " << e;
}

// Names in an ONNX file are bytes (ONNX's proto2 strings are not checked for UTF-8). A name that is not
// UTF-8 must not make `inspect --json` (or any JSON report) throw from the JSON writer: invalid bytes
// are written as U+FFFD.
TEST(BadModel, NamesThatAreNotUtf8StillGiveValidJson) {
  fs::path dir = temp_dir("bad_utf8_names");
  Model m = tiny_model();
  m.graph.nodes[1].name = "relu\xff\xfe";
  m.metadata.emplace_back("note", std::string("caf\xc3", 4));  // a sequence cut in the middle
  fs::path p = dir / "utf8.onnx";
  write_file_atomic(p.string(), export_onnx_bytes(m));
  auto r = cli("inspect --json " + p.string(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\xef\xbf\xbd"), std::string::npos) << r.out;
  nlohmann::json j;
  EXPECT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
}

TEST(BadModel, UnsupportedOpset) {
  fs::path dir = temp_dir("bad_opset");
  Model m = tiny_model();
  m.opset = 11;
  fs::path p = dir / "old.onnx";
  write_file_atomic(p.string(), export_onnx_bytes(m));
  EXPECT_NE(import_error(p).find("opset 11 is not supported"), std::string::npos) << import_error(p);
}

TEST(BadModel, MissingExternalDataFile) {
  fs::path dir = temp_dir("bad_missing_ext");
  fs::path p = dir / "m.onnx";
  export_onnx(tiny_model(), p.string(), ExportOptions{16});
  ASSERT_TRUE(fs::exists(dir / "m.onnx.data"));
  EXPECT_NO_THROW(import_onnx(p.string()));
  fs::remove(dir / "m.onnx.data");
  std::string e = import_error(p);
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
  EXPECT_NE(e.find("'w'"), std::string::npos) << "names the initializer: " << e;
}

TEST(BadModel, ExternalDataEscapingTheFolderIsRefused) {
  fs::path dir = temp_dir("bad_escape");
  fs::create_directories(dir / "models");
  write_file_atomic((dir / "secret.bin").string(), std::string(48, 'x'));
  for (const std::string& loc :
       std::vector<std::string>{"../secret.bin", "sub/../../secret.bin", (dir / "secret.bin").string()}) {
    onnx::ModelProto mp;
    auto bytes = export_onnx_bytes(tiny_model());
    ASSERT_TRUE(mp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    auto* t = mp.mutable_graph()->mutable_initializer(0);
    t->clear_raw_data();
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(loc);
    fs::path p = dir / "models" / "escape.onnx";
    write_file_atomic(p.string(), mp.SerializeAsString());
    std::string e = import_error(p);
    EXPECT_TRUE(e.find("escapes") != std::string::npos || e.find("absolute") != std::string::npos ||
                e.find("outside") != std::string::npos)
        << loc << ": " << e;
  }
}

// External data `offset` / `length` are text in ONNX: parsed strictly, checked against the tensor and the
// file, and only the claimed range is read.
TEST(BadModel, ExternalDataOffsetAndLengthParsedStrictly) {
  fs::path dir = temp_dir("bad_ext_numbers");
  fs::path p0 = dir / "m.onnx";
  export_onnx(tiny_model(), p0.string(), ExportOptions{16});
  ASSERT_TRUE(fs::exists(dir / "m.onnx.data"));
  const auto good = read_file(p0.string());
  const auto data_size = fs::file_size(dir / "m.onnx.data");
  auto with = [&](const std::string& key, const std::string& value) {
    onnx::ModelProto mp;
    EXPECT_TRUE(mp.ParseFromArray(good.data(), static_cast<int>(good.size())));
    for (auto& t : *mp.mutable_graph()->mutable_initializer()) {
      if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
      bool set = false;
      for (auto& kv : *t.mutable_external_data())
        if (kv.key() == key) kv.set_value(value), set = true;
      if (!set) {
        auto* kv = t.add_external_data();
        kv->set_key(key);
        kv->set_value(value);
      }
    }
    fs::path p = dir / "edited.onnx";
    write_file_atomic(p.string(), mp.SerializeAsString());
    return p;
  };
  struct Case {
    std::string key, value, want;
  };
  for (const Case& c : std::vector<Case>{
           {"offset", "abc", "offset 'abc' is not a non-negative decimal integer"},
           {"offset", "-5", "offset '-5' is not"},
           {"offset", "99999999999999999999999", "is not a non-negative decimal integer"},
           {"offset", "12x", "offset '12x'"},
           {"offset", "", "offset ''"},
           {"offset", std::to_string(data_size), "beyond the end of the file"},
           {"offset", "999999999999", "beyond the end of the file"},
           {"length", "-5", "length '-5' is not"},
           {"length", "7", "length 7 does not match"},
           {"length", " 48", "length ' 48'"},
       }) {
    fs::path p = with(c.key, c.value);
    std::string e = import_error(p);
    EXPECT_NE(e.find(c.want), std::string::npos) << c.key << "=" << c.value << ": " << e;
    EXPECT_NE(e.find("'w'"), std::string::npos) << "names the initializer: " << e;
    auto r = cli("inspect " + p.string(), dir);
    EXPECT_EQ(r.code, 2) << c.key << "=" << c.value << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // A valid explicit range still loads.
  EXPECT_NO_THROW(import_onnx(with("offset", "0").string()));
}

// yaml-cpp throws on conversions (a complex key read as a string, a map where a list is expected): each is
// one line naming the config file, exit 2.
TEST(BadConfig, YamlComplexKeysAndBadConversionsNameTheFile) {
  fs::path dir = temp_dir("bad_yaml");
  struct Case {
    std::string name, text;
  };
  for (const Case& c : std::vector<Case>{
           {"complex_key.yaml",
            "model: mlp\nmodel_args: {[1, 2]: 3}\ndata: {train: t.npz, input: x, target: y}\n"},
           {"complex_top.yaml", "{[1, 2]: 3}\n"},
           {"map_value.yaml", "model: {a: 1}\ndata: {train: t.npz, input: x, target: y}\n"},
           {"list_in_data.yaml", "model: mlp\ndata: [1, 2]\n"},
           {"bad_epochs.yaml",
            "model: mlp\nepochs: [1, {x: 2}]\ndata: {train: t.npz, input: x, target: y}\n"},
           {"deep.yaml", std::string(5000, '[') + std::string(5000, ']') + "\n"},
       }) {
    fs::path p = dir / c.name;
    write_file_atomic(p.string(), c.text);
    auto r = cli("train -c " + p.string(), dir);
    if (r.err.find("unknown command 'train'") != std::string::npos ||
        (r.err.find("train") != std::string::npos && r.err.find("did you mean") != std::string::npos))
      GTEST_SKIP() << "this build has no trainer (TINYQAT_BUILD_TRAIN=OFF)";
    EXPECT_EQ(r.code, 2) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(p.string()), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
  }
}

// Sets the central directory's uncompressed size of member `name` (a lie the reader must survive).
void claim_size(std::vector<uint8_t>& zip, const std::string& name, uint32_t usize) {
  for (size_t p = 0; p + 46 <= zip.size(); ++p) {
    if (!(zip[p] == 0x50 && zip[p + 1] == 0x4b && zip[p + 2] == 0x01 && zip[p + 3] == 0x02)) continue;
    const size_t nlen = zip[p + 28] | (zip[p + 29] << 8);
    if (std::string(reinterpret_cast<const char*>(&zip[p + 46]), nlen) != name) continue;
    std::memcpy(&zip[p + 24], &usize, 4);
    return;
  }
  FAIL() << "no member " << name;
}

// A .npz member no one uses is never inflated, and what is inflated is bounded in total before any of it
// is allocated.
TEST(BadData, NpzMembersAreInflatedLazilyWithATotalCap) {
  fs::path dir = temp_dir("bad_npz_lazy");
  Model m = tiny_model();
  const fs::path model = dir / "m.onnx";
  export_onnx(m, model.string());
  auto archive =
      serialize_npz({{"x", Tensor::zeros(DType::F32, {3, 6})}, {"unused", Tensor::zeros(DType::F32, {4096})}},
                    /*compress=*/true);
  // The unused member lies about its size: inflating it would fail. It is not inflated.
  claim_size(archive, "unused.npy", 20000);
  const fs::path npz = dir / "lying.npz";
  write_file_atomic(npz.string(), archive);
  auto r = cli("run " + model.string() + " --input " + npz.string() + " -o " + (dir / "out").string(), dir);
  EXPECT_EQ(r.code, 0) << r.err;
  // Asked for, the same member is refused (exit 2, one line).
  auto bytes = read_file(npz.string());
  try {
    parse_npz(bytes.data(), bytes.size(), "lying.npz");
    ADD_FAILURE() << "the lying member was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unused.npy"), std::string::npos) << e.what();
  }
  // The members read may not claim more than the cap together: refused before inflating anything.
  auto two = serialize_npz(
      {{"a", Tensor::zeros(DType::F32, {20000})}, {"b", Tensor::zeros(DType::F32, {20000})}}, true);
  int calls = 0;
  try {
    zip::read_members(
        two.data(), two.size(), "two.npz", [&](const std::string&, const uint8_t*, size_t) { ++calls; },
        nullptr, /*max_total=*/100000);
    ADD_FAILURE() << "160 KB of members passed a 100 KB cap";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refused before inflating"), std::string::npos) << e.what();
  }
  EXPECT_EQ(calls, 0) << "a member was inflated before the total was checked";
  calls = 0;
  zip::read_members(
      two.data(), two.size(), "two.npz", [&](const std::string&, const uint8_t*, size_t) { ++calls; },
      [](const std::string& n) { return n == "a.npy"; }, 100000);
  EXPECT_EQ(calls, 1);
  // No input among the members: named, exit 2.
  auto other = serialize_npz({{"y", Tensor::zeros(DType::F32, {3, 6})}}, true);
  write_file_atomic((dir / "other.npz").string(), other);
  r = cli(
      "run " + model.string() + " --input " + (dir / "other.npz").string() + " -o " + (dir / "out").string(),
      dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no array named 'x'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other arrays given: y"), std::string::npos) << r.err;
}

TEST(BadModel, AbsurdInitializerDimsRefusedBeforeAllocating) {
  fs::path dir = temp_dir("bad_absurd");
  onnx::ModelProto mp;
  auto bytes = export_onnx_bytes(tiny_model());
  ASSERT_TRUE(mp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  auto* t = mp.mutable_graph()->mutable_initializer(0);
  t->clear_dims();
  for (int i = 0; i < 3; ++i) t->add_dims(4000000);
  fs::path p = dir / "absurd.onnx";
  write_file_atomic(p.string(), mp.SerializeAsString());
  std::string e = import_error(p);
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
}

// Dims under the size cap but with a handful of stored values: the count is compared before the
// tensor is allocated. The child runs with its address space capped 1 GiB above what it uses, so
// allocating the claimed 2 GiB first would end in std::bad_alloc (exit 1), not in the Error (exit 0).
TEST(BadModel, StoredValueCountCheckedBeforeAllocating) {
  onnx::ModelProto mp;
  auto bytes = export_onnx_bytes(tiny_model());
  ASSERT_TRUE(mp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  for (bool as_double : {false, true}) {
    auto* t = mp.mutable_graph()->mutable_initializer(0);
    t->clear_dims();
    t->clear_raw_data();
    t->add_dims(int64_t(1) << 29);
    t->set_data_type(as_double ? onnx::TensorProto::DOUBLE : onnx::TensorProto::FLOAT);
    for (int i = 0; i < 12; ++i) as_double ? t->add_double_data(1.0) : t->add_float_data(1.f);
    const std::string model = mp.SerializeAsString();
    auto import_capped = [&model] {
      std::ifstream status("/proc/self/status");
      std::string line;
      rlim_t used_kib = 0;
      while (std::getline(status, line))
        if (line.rfind("VmSize:", 0) == 0) used_kib = std::stoull(line.substr(7));
      const rlim_t cap = (used_kib + (rlim_t(1) << 20)) * 1024;
      rlimit lim{cap, cap};
      setrlimit(RLIMIT_AS, &lim);
      try {
        import_onnx_bytes(reinterpret_cast<const uint8_t*>(model.data()), model.size(), "/nonexistent",
                          "claims.onnx");
      } catch (const Error& e) {
        std::_Exit(std::string(e.what()).find("12 values stored") != std::string::npos ? 0 : 3);
      } catch (const std::bad_alloc&) {
        std::_Exit(1);
      }
      std::_Exit(4);
    };
    EXPECT_EXIT(import_capped(), ::testing::ExitedWithCode(0), "")
        << (as_double ? "double_data" : "float_data");
  }
}

// ConvTranspose attributes and ranks the importer passes on are checked before any index or product
// uses them: a scalar input, a rank that does not match the kernel, output_padding and output_shape of the
// wrong length, a group whose channel product overflows, sizes whose output overflows.
TEST(BadModel, ConvTransposeAttributesAndRanksAreChecked) {
  using Attrs = std::vector<std::pair<std::string, Attribute>>;
  auto build = [](std::initializer_list<GraphBuilder::D> dims, Attrs attrs) {
    GraphBuilder b("ct");
    auto x = b.input("x", DType::F32, dims);
    b.output(b.op("ConvTranspose", {x, b.constant("w", Tensor::zeros(DType::F32, {1, 2, 3, 3}))}, attrs),
             "y");
    return b.finish();
  };
  auto error = [&](std::initializer_list<GraphBuilder::D> dims, Attrs attrs) {
    try {
      build(dims, std::move(attrs));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error({}, {}).find("input rank 0 does not match a 2-D kernel"), std::string::npos)
      << error({}, {});
  EXPECT_NE(error({1, 1, 8}, {}).find("input rank 3"), std::string::npos);
  EXPECT_NE(
      error({1, 1, 8, 8}, {{"output_padding", Attribute::of_ints({1})}}).find("output_padding must have 2"),
      std::string::npos);
  EXPECT_NE(
      error({1, 1, 8, 8}, {{"output_shape", Attribute::of_ints({9})}}).find("output_shape must have at"),
      std::string::npos);
  EXPECT_NE(error({1, 1, "H", "W"}, {{"output_shape", Attribute::of_ints({-3, 9})}}).find("out of range"),
            std::string::npos);
  EXPECT_NE(error({1, 1, 8, 8}, {{"group", Attribute::of_int(int64_t(1) << 62)}}).find("group"),
            std::string::npos);
  EXPECT_NE(error({1, 1, int64_t(1) << 40, 8}, {{"strides", Attribute::of_ints({int64_t(1) << 24, 1})}})
                .find("absurdly large"),
            std::string::npos);
  EXPECT_NE(error({1, 1, 8, 8}, {{"output_shape", Attribute::of_ints({40, 10})}}).find("larger than"),
            std::string::npos);
  // Shape inference and the runtime agree: the size output_shape names, and VALID ignores explicit pads.
  Model m = build({1, 1, 8, 8}, {{"output_shape", Attribute::of_ints({1, 2, 17, 16})},
                                 {"strides", Attribute::of_ints({2, 2})}});
  EXPECT_EQ(m.graph.outputs[0].shape_str(), "[1,2,17,16]");
  Executor ex(std::move(m));
  auto y = ex.run({{"x", Tensor::zeros(DType::F32, {1, 1, 8, 8})}});
  EXPECT_EQ(shape_str(y.at(0).shape()), "[1,2,17,16]");
  Model v = build({1, 1, 8, 8},
                  {{"auto_pad", Attribute::of_string("VALID")}, {"pads", Attribute::of_ints({1, 1, 1, 1})}});
  EXPECT_EQ(v.graph.outputs[0].shape_str(), "[1,2,10,10]");
  // Symbolic sizes reach the runtime's check instead.
  Executor sym(build({1, 1, "H", "W"}, {{"output_shape", Attribute::of_ints({40, 10})}}));
  EXPECT_THROW(sym.run({{"x", Tensor::zeros(DType::F32, {1, 1, 8, 8})}}), Error);
}

// What a hostile file can claim that shape rules or kernels would otherwise index or divide by: each ends
// in one Error (found by reading the rules after the ConvTranspose fuzz find).
TEST(BadModel, ShapeRulesAndKernelsRefuseWhatTheyCannotIndex) {
  auto error = [](const std::function<void(GraphBuilder&)>& make) {
    try {
      GraphBuilder b("bad");
      make(b);
      Executor ex(b.finish());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto x4 = [](GraphBuilder& b) { return b.input("x", DType::F32, {1, 2, 8, 8}); };
  // Unsqueeze with a repeated axis (the rule indexed past the input's dims).
  EXPECT_NE(error([](GraphBuilder& b) {
              auto x = b.input("x", DType::F32, {});
              b.output(b.op("Unsqueeze", {x, b.constant("a", Tensor::from_i64({2}, {0, 0}))}), "y");
            }).find("axis 0 is repeated"),
            std::string::npos);
  // A pool over a rank-1 input (its channel dim was read before the rank check).
  EXPECT_NE(error([](GraphBuilder& b) {
              auto x = b.input("x", DType::F32, {4});
              b.output(b.op("MaxPool", {x}, {{"kernel_shape", Attribute::of_ints({1})}}), "y");
            }).find("input rank 1 does not match"),
            std::string::npos);
  // A Conv whose weight has no rank: its rank is checked before its dims are read, on any compiler.
  EXPECT_NE(error([&](GraphBuilder& b) {
              auto w = b.input("w", DType::F32, {});
              b.output(b.op("Conv", {x4(b), w}), "y");
            }).find("weight shape must be known and of rank"),
            std::string::npos);
  // BatchNormalization without its statistics.
  EXPECT_NE(error([&](GraphBuilder& b) {
              b.output(b.op("BatchNormalization", {x4(b)}), "y");
            }).find("lacks required input 1"),
            std::string::npos);
  // A Conv with no output channels (the packer divided by them).
  EXPECT_NE(error([&](GraphBuilder& b) {
              b.output(b.op("Conv", {x4(b), b.constant("w", Tensor::zeros(DType::F32, {0, 2, 3, 3}))}), "y");
            }).find("output channels"),
            std::string::npos);
  // An empty tensor whose other dims multiply past the size limit, and a dim over kMaxDim.
  EXPECT_THROW(Tensor::zeros(DType::F32, {0, int64_t(1) << 30, int64_t(1) << 30}), Error);
  EXPECT_THROW(Tensor::zeros(DType::F32, {0, kMaxDim + 1}), Error);
  EXPECT_EQ(Tensor::zeros(DType::F32, {0, 1 << 20}).numel(), 0);
  // Concat growing an axis past kMaxDim.
  EXPECT_NE(error([](GraphBuilder& b) {
              auto x = b.input("x", DType::F32, {1, kMaxDim});
              b.output(b.op("Concat", {x, x}, {{"axis", Attribute::of_int(1)}}), "y");
            }).find("absurdly large"),
            std::string::npos);
  // Slice: a negative step on an empty axis takes nothing; extreme steps do not overflow the count.
  EXPECT_EQ(slice_range(0, -5, -10, -1).count, 0);
  EXPECT_EQ(slice_range(10, 0, 10, std::numeric_limits<int64_t>::max()).count, 1);
  EXPECT_EQ(slice_range(10, 9, -11, std::numeric_limits<int64_t>::min()).count, 1);
  // A node without outputs.
  {
    GraphBuilder b("no_out");
    auto x = b.input("x", DType::F32, {2});
    b.output(b.op("Relu", {x}), "y");
    Model m = b.model();
    m.graph.nodes.push_back(Node{"lonely", "Relu", "", {x}, {}, {}});
    EXPECT_THROW(infer_shapes(m), Error);
  }
}

// A QLinearConv whose scales are not constants reads them at run time: an empty x_scale is one Error,
// not an exception from the standard library.
TEST(BadRun, QLinearScalesGivenAtRunTimeMustHoldOneValue) {
  GraphBuilder b("qlinear_runtime_scale");
  auto x = b.input("x", DType::U8, {1, 1, 4, 4});
  auto xs = b.input("xs", DType::F32, {"S"});
  auto zp = b.constant("zp", Tensor::zeros(DType::U8, {}));
  auto w = b.constant("w", Tensor::zeros(DType::I8, {1, 1, 1, 1}));
  auto ws = b.constant("ws", Tensor::scalar_f32(0.5f));
  auto wzp = b.constant("wzp", Tensor::zeros(DType::I8, {}));
  auto ys = b.constant("ys", Tensor::scalar_f32(1.f));
  b.output(b.op("QLinearConv", {x, xs, zp, w, ws, wzp, ys, zp}), "y");
  Executor ex(b.finish());
  auto run = [&](int64_t n) {
    try {
      ex.run({{"x", Tensor::zeros(DType::U8, {1, 1, 4, 4})}, {"xs", Tensor::zeros(DType::F32, {n})}});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(run(0).find("x_scale must hold one value, not 0"), std::string::npos) << run(0);
  EXPECT_NE(run(2).find("x_scale must hold one value, not 2"), std::string::npos) << run(2);
  EXPECT_EQ(run(1), "");
}

TEST(BadRun, InputShapeAndTypeMismatch) {
  Executor ex(tiny_model());
  auto msg = [&](Tensor t, const std::string& name = "x") {
    try {
      ex.run({{name, t}});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg(Tensor::zeros(DType::F32, {2, 5})).find("expected float32 [N,6], got float32 [2,5]"),
            std::string::npos)
      << msg(Tensor::zeros(DType::F32, {2, 5}));
  EXPECT_NE(msg(Tensor::zeros(DType::I64, {2, 6})).find("got int64"), std::string::npos);
  EXPECT_NE(msg(Tensor::zeros(DType::F32, {2, 6}), "nope").find("no input named 'nope'"), std::string::npos);
  EXPECT_NO_THROW(ex.run({{"x", Tensor::zeros(DType::F32, {5, 6})}}));
}

TEST(BadRun, CliReportsBadNpyAndMismatch) {
  fs::path dir = temp_dir("bad_cli_run");
  fs::path model = dir / "tiny.onnx";
  export_onnx(tiny_model(), model.string());
  fs::path bad = dir / "bad.npy";
  write_file_atomic(bad.string(), std::string("\x93NUMPY\x01\x00\x10\x00{'descr': 'zz'}", 26));
  auto r = cli(
      fmt::format("run {} --input x={} --out {}", model.string(), bad.string(), (dir / "out").string()), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.npy"), std::string::npos) << r.err;
  fs::path wrong = dir / "wrong.npy";
  write_npy(wrong.string(), Tensor::zeros(DType::F32, {3, 7}));
  r = cli(fmt::format("run {} --input x={} --out {}", model.string(), wrong.string(), (dir / "out").string()),
          dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("input 'x'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "y.npy")) << "nothing written on failure";
  fs::path good = dir / "good.npy";
  write_npy(good.string(), Tensor::zeros(DType::F32, {3, 6}));
  r = cli(fmt::format("run {} --input x={} --out {}", model.string(), good.string(), (dir / "out").string()),
          dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_npy((dir / "out" / "y.npy").string()).shape(), Shape({3, 2}));
  // npz in, npz out
  fs::path in_npz = dir / "in.npz", out_npz = dir / "out.npz";
  write_npz(in_npz.string(), {{"x", Tensor::zeros(DType::F32, {4, 6})}}, true);
  r = cli(fmt::format("run {} --input {} --out {}", model.string(), in_npz.string(), out_npz.string()), dir);
  EXPECT_EQ(r.code, 0) << r.err;
  auto arrays = read_npz(out_npz.string());
  ASSERT_EQ(arrays.size(), 1u);
  EXPECT_EQ(arrays[0].first, "y");
  EXPECT_EQ(arrays[0].second.shape(), Shape({4, 2}));
}

TEST(Cli, HelpOnEveryCommandAndUsageErrors) {
  fs::path dir = temp_dir("cli_help");
  for (const char* c : {"--help", "inspect --help", "run --help"}) EXPECT_EQ(cli(c, dir).code, 0) << c;
  EXPECT_EQ(cli("", dir).code, 2);
  EXPECT_EQ(cli("frobnicate", dir).code, 2);
  EXPECT_EQ(cli("run", dir).code, 2);
}

}  // namespace
}  // namespace tinyqat::test

namespace tinyqat::test {
namespace {

TEST(BadPtq, CliErrorsLeaveNoOutput) {
  fs::path dir = temp_dir("bad_ptq_cli");
  fs::path model = dir / "tiny.onnx", out = dir / "tiny.int8.onnx";
  export_onnx(tiny_model(), model.string());
  auto expect_refused = [&](const std::string& args, const std::string& needle) {
    auto r = cli("ptq " + model.string() + " -o " + out.string() + " " + args, dir);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << args << ": no half-written output";
  };
  expect_refused("--mode static", "needs --calibration");
  fs::path wrong = dir / "wrong.npz", nan = dir / "nan.npz", empty = dir / "empty.npz";
  write_npz(wrong.string(), {{"y", Tensor::zeros(DType::F32, {4, 6})}}, false);
  expect_refused("--mode static --calibration " + wrong.string(), "no array named 'x'");
  Tensor t = Tensor::zeros(DType::F32, {4, 6});
  t.data<float>()[3] = NAN;
  write_npz(nan.string(), {{"x", t}}, false);
  expect_refused("--mode static --calibration " + nan.string(), "NaN or Inf");
  write_npz(empty.string(), {}, false);
  expect_refused("--mode static --calibration " + empty.string(), "empty");
  expect_refused("--mode dynamic --exclude no_such_node", "no node of that name");
  expect_refused("--mode static --calibration " + (dir / "missing.npz").string(), "missing.npz");
  // Already quantized input.
  auto r = cli("ptq " + model.string() + " -o " + out.string() + " --mode dynamic", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  r = cli("ptq " + out.string() + " -o " + (dir / "again.onnx").string() + " --mode dynamic", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("already quantized"), std::string::npos) << r.err;
  EXPECT_EQ(cli("ptq --help", dir).code, 0);
  EXPECT_EQ(cli("compare --help", dir).code, 0);
  EXPECT_EQ(cli("bench --help", dir).code, 0);
}

// `--shape` (bench): digits separated by x or commas; anything else, and a size over the tensor cap, is an
// Error (fuzz/fuzz_shape.cpp fuzzes the same path).
TEST(BadShape, ShapeTextIsParsedStrictlyAndSizeChecked) {
  EXPECT_EQ(parse_shape("1x3x224x224", "--shape"), (Shape{1, 3, 224, 224}));
  EXPECT_EQ(parse_shape("2,0", "--shape"), (Shape{2, 0}));
  for (const char* bad : {"", "x", "1x", "1xx2", "-1", "1x2y", "123456789012", " 1"}) {
    try {
      parse_shape(bad, "--shape");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--shape: bad shape"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(checked_numel(parse_shape("99999999999x99999999999", "--shape"), DType::F32), Error);
  fs::path dir = temp_dir("bad_shape_cli");
  export_onnx(tiny_model(), (dir / "tiny.onnx").string());
  auto r = cli("bench " + (dir / "tiny.onnx").string() + " --shape x=99999999999x99999999999", dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace tinyqat::test
