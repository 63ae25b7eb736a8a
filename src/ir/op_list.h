// The one list of operators tinyqat knows. Every other op table is checked against it:
//   - import's acceptance (`is_supported_op`, below) is derived from it;
//   - the shape rules (src/ir/shape_rules_<family>.cpp), the runtime kernels (src/runtime/ops/<family>.cpp)
//     and the trainer's forward table (src/train/forward_ops.cpp) are compared with it by tests
//     (tests/test_op_list.cpp; the trainer's in tests/train/test_train_ops.cpp, which links LibTorch).
// A table lacks an op only with a stated reason (`no("why")`); a test fails otherwise.
//
// How to add an op (say `Foo`, an elementwise fp32 op):
//   1. one row below: name, family, quantized or not, the opsets import accepts it in, and for the runtime
//      and the trainer either `kYes` or `no("why not")`;
//   2. its shape rule in src/ir/shape_rules_<family>.cpp (`shape_rules::register_<family>`);
//   3. its kernel in src/runtime/ops/<family>.cpp (`register_<family>_ops`), unless the row says why not;
//   4. its forward in src/train/forward_ops.cpp (`forward_ops()`), unless the row says why not;
//   5. a node of it in a fixture (tests/support/fixtures.cpp): the agreement tests run every fixture against
//      ONNX Runtime, and tests/test_op_list.cpp fails while an imported op is in no fixture;
//   6. its name in the README's "Supported operators" (tests/test_op_list.cpp checks that too).
// Then `ctest`: tests/test_op_list.cpp and tests/train/test_train_ops.cpp say what is still missing.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace tinyqat {

// The default-domain (ai.onnx) opsets import reads; every op's own range lies within.
inline constexpr int64_t kMinOpset = 13;
inline constexpr int64_t kMaxOpset = 18;

// Where an op's code lives: src/ir/shape_rules_<family>.cpp and src/runtime/ops/<file>.cpp (the same
// families; `Quant` is ops/quant.cpp and ops/qlinear_add.cpp, `Shape` is ops/shape_ops.cpp).
enum class OpFamily { Elementwise, Conv, MatMul, Pool, Shape, Quant };
const char* family_name(OpFamily f);

// Whether one table has an op: `kYes`, or `no("why")`.
struct Has {
  const char* why_not = nullptr;  // nullptr: the table has it
  constexpr bool yes() const { return why_not == nullptr; }
};
inline constexpr Has kYes{};
constexpr Has no(const char* why) {
  return Has{why};
}

struct OpInfo {
  std::string_view name;
  std::string_view domain;  // "" = ai.onnx
  OpFamily family;
  bool quantized;        // works on integer tensors or quantization parameters
  int64_t since, until;  // the opsets import accepts it in (0, 0 when it is never imported)
  Has imported;          // import accepts it, and it has a shape rule
  Has kernel;            // the runtime runs it
  Has trainer;           // the trainer's forward runs it (and so trains through it)
};

// The reasons a table lacks an op, shared by several rows.
inline constexpr const char* kIntegerOp =
    "integer op: the trainer trains fp32 graphs, simulating int8 with fake-quant; Q/DQ nodes are written "
    "on export";
inline constexpr const char* kNotTrained =
    "no model the trainer targets (zoo, shipped configs) uses it; the trainer refuses it by name";
inline constexpr const char* kRuntimeOnly =
    "runtime-internal: fuse_qdq_for_runtime makes it from DequantizeLinear → Add → QuantizeLinear (ONNX "
    "defines QLinearAdd only in com.microsoft); graphs are not shape-inferred after that fusion";

// clang-format off
inline constexpr OpInfo kOps[] = {
  // name, domain, family, quantized, opsets import accepts (since, until), then imported, kernel, trainer
  {"Relu",                 "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"LeakyRelu",            "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Clip",                 "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Sigmoid",              "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Tanh",                 "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Erf",                  "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Gelu",                 "", OpFamily::Elementwise, false, 0, 0,
   no("runtime-internal: fuse_for_runtime makes it from GELU's erf form (Div, Erf, Add, Mul, Mul), which is "
      "what import and the trainer see"), kYes,
   no("runtime-internal: the trainer trains the erf form it was exported as")},
  {"Sqrt",                 "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Identity",             "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Softmax",              "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"BatchNormalization",   "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Add",                  "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Sub",                  "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Mul",                  "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Div",                  "", OpFamily::Elementwise, false, kMinOpset, kMaxOpset, kYes, kYes, kYes},

  {"Conv",                 "", OpFamily::Conv,        false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"ConvTranspose",        "", OpFamily::Conv,        false, kMinOpset, kMaxOpset, kYes, kYes,
   no("the zoo's unet, the one model with it, is an inference fixture (runtime speed, int8); the trainer "
      "refuses it by name")},

  {"Gemm",                 "", OpFamily::MatMul,      false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"MatMul",               "", OpFamily::MatMul,      false, kMinOpset, kMaxOpset, kYes, kYes, kYes},

  {"MaxPool",              "", OpFamily::Pool,        false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"AveragePool",          "", OpFamily::Pool,        false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"GlobalAveragePool",    "", OpFamily::Pool,        false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"ReduceMean",           "", OpFamily::Pool,        false, kMinOpset, kMaxOpset, kYes, kYes, kYes},

  {"Constant",             "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Flatten",              "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Reshape",              "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Squeeze",              "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Unsqueeze",            "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Concat",               "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Shape",                "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Gather",               "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},
  {"Slice",                "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, no(kNotTrained)},
  {"Cast",                 "", OpFamily::Shape,       false, kMinOpset, kMaxOpset, kYes, kYes, kYes},

  {"QuantizeLinear",       "", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"DequantizeLinear",     "", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"DynamicQuantizeLinear","", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"ConvInteger",          "", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"MatMulInteger",        "", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"QLinearConv",          "", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"QLinearMatMul",        "", OpFamily::Quant,       true,  kMinOpset, kMaxOpset, kYes, kYes, no(kIntegerOp)},
  {"QLinearAdd",           "", OpFamily::Quant,       true,  0, 0, no(kRuntimeOnly), kYes, no(kIntegerOp)},
  {"QLinearConvTranspose", "", OpFamily::Quant,       true,  0, 0,
   no("runtime-internal: fuse_qdq_for_runtime makes it from DequantizeLinear → ConvTranspose → QuantizeLinear "
      "(ONNX has no quantized ConvTranspose)"), kYes, no(kIntegerOp)},
};
// clang-format on

// The row of an op, or nullptr when tinyqat does not know it.
const OpInfo* find_op(std::string_view domain, std::string_view op_type);

// Import's acceptance: the op is in the list, imported, and `opset` is within its range.
bool is_supported_op(const std::string& domain, const std::string& op_type, int64_t opset);

}  // namespace tinyqat
