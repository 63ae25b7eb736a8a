// The one op list (src/ir/op_list.h) against every table it describes: import's acceptance, the shape
// rules, the runtime kernels (by family), the fixtures the agreement tests run against ONNX Runtime, and
// the README. An op in one table and missing from another without a stated reason fails here; the
// trainer's table is checked in tests/train/test_train_ops.cpp (that binary links LibTorch).
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include <fmt/format.h>

#include "ir/op_list.h"
#include "ir/shape_rules.h"
#include "runtime/kernel.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

constexpr OpFamily kFamilies[] = {OpFamily::Elementwise, OpFamily::Conv,  OpFamily::MatMul,
                                  OpFamily::Pool,        OpFamily::Shape, OpFamily::Quant};

// The ops of the list (of one family, or all when `family` is null) that a table should hold.
std::set<std::string> listed(Has OpInfo::*table, const OpFamily* family = nullptr) {
  std::set<std::string> s;
  for (const OpInfo& op : kOps)
    if ((op.*table).yes() && (!family || op.family == *family)) s.insert(std::string(op.name));
  return s;
}

// Every difference between a table and the list, one line each.
std::string differences(const std::string& table, const std::set<std::string>& has,
                        const std::set<std::string>& want) {
  std::string out;
  for (const auto& op : has)
    if (!want.count(op))
      out += fmt::format("\n  {} has {}, but src/ir/op_list.h {}", table, op,
                         find_op("", op) ? "says it does not" : "does not list it");
  for (const auto& op : want)
    if (!has.count(op)) out += fmt::format("\n  {} lacks {}, which src/ir/op_list.h says it has", table, op);
  return out;
}

template <typename Map>
std::set<std::string> keys(const Map& m) {
  std::set<std::string> s;
  for (const auto& [k, v] : m) s.insert(k);
  return s;
}

TEST(OpList, EveryRowIsWellFormedAndEveryMissingTableHasAReason) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const OpInfo& op : kOps) {
    SCOPED_TRACE(std::string(op.name));
    EXPECT_TRUE(seen.insert({op.domain, op.name}).second) << "listed twice";
    for (Has h : {op.imported, op.kernel, op.trainer}) {
      if (!h.yes()) {
        EXPECT_GT(std::string(h.why_not).size(), 10u) << "a table lacks it without a reason";
      }
    }
    if (op.imported.yes()) {
      EXPECT_LE(kMinOpset, op.since);
      EXPECT_LE(op.since, op.until);
      EXPECT_LE(op.until, kMaxOpset);
    } else {
      EXPECT_EQ(op.since, 0);
      EXPECT_EQ(op.until, 0);
    }
    EXPECT_EQ(find_op(op.domain, op.name), &op);
  }
  EXPECT_EQ(find_op("", "Transpose"), nullptr);
  EXPECT_EQ(find_op("com.microsoft", "QLinearAdd"), nullptr);
}

TEST(OpList, ImportAcceptsExactlyTheImportedOpsInTheirOpsets) {
  for (const OpInfo& op : kOps)
    for (int64_t opset = kMinOpset - 2; opset <= kMaxOpset + 2; ++opset)
      EXPECT_EQ(is_supported_op(std::string(op.domain), std::string(op.name), opset),
                op.imported.yes() && opset >= op.since && opset <= op.until)
          << op.name << " at opset " << opset;
  EXPECT_FALSE(is_supported_op("", "Transpose", 17));
  EXPECT_FALSE(is_supported_op("com.microsoft", "QLinearAdd", 17));
  EXPECT_FALSE(is_supported_op("com.microsoft", "Conv", 17));
}

TEST(OpList, ShapeRulesAreExactlyTheImportedOpsFamilyByFamily) {
  using Register = void (*)(shape_rules::Rules&);
  const std::map<OpFamily, Register> files = {{OpFamily::Elementwise, shape_rules::register_elementwise},
                                              {OpFamily::Conv, shape_rules::register_conv},
                                              {OpFamily::MatMul, shape_rules::register_matmul},
                                              {OpFamily::Pool, shape_rules::register_pool},
                                              {OpFamily::Shape, shape_rules::register_shape},
                                              {OpFamily::Quant, shape_rules::register_quant}};
  for (OpFamily f : kFamilies) {
    shape_rules::Rules r;
    files.at(f)(r);
    const std::string table = fmt::format("src/ir/shape_rules_{}.cpp", family_name(f));
    EXPECT_EQ(differences(table, keys(r), listed(&OpInfo::imported, &f)), "");
  }
  EXPECT_EQ(differences("the shape rules", keys(shape_rules::all()), listed(&OpInfo::imported)), "");
}

TEST(OpList, RuntimeKernelsAreExactlyTheListedOnesFamilyByFamily) {
  const std::map<OpFamily, std::vector<void (*)(KernelRegistry&)>> files = {
      {OpFamily::Elementwise, {register_elementwise_ops}},
      {OpFamily::Conv, {register_conv_ops}},
      {OpFamily::MatMul, {register_matmul_ops}},
      {OpFamily::Pool, {register_pool_ops}},
      {OpFamily::Shape, {register_shape_ops}},
      {OpFamily::Quant, {register_quant_ops, register_qlinear_binary_ops, register_qconv_transpose_ops}}};
  for (OpFamily f : kFamilies) {
    KernelRegistry r;
    for (auto reg : files.at(f)) reg(r);
    const std::string table = fmt::format("the runtime's {} kernels (src/runtime/ops/)", family_name(f));
    EXPECT_EQ(differences(table, keys(r), listed(&OpInfo::kernel, &f)), "");
  }
  EXPECT_EQ(differences("the kernel registry", keys(kernel_registry()), listed(&OpInfo::kernel)), "");
}

// The agreement tests (test_agreement.cpp) run every fixture against ONNX Runtime: every op import
// accepts is in one, so each is checked against the reference at least once.
TEST(OpList, EveryImportedOpIsInAFixtureTheAgreementTestsRun) {
  std::set<std::string> used;
  for (const Fixture& f : fixtures())
    for (const Node& n : f.model.graph.nodes) used.insert(n.op_type);
  for (const auto& op : listed(&OpInfo::imported))
    EXPECT_TRUE(used.count(op)) << op << " is in no fixture (tests/support/fixtures.cpp)";
}

TEST(OpList, TheReadmeNamesEveryImportedOp) {
  const std::string readme = text_of(fs::path(TQ_SOURCE_DIR) / "README.md");
  const size_t at = readme.find("\n## Supported operators");
  ASSERT_NE(at, std::string::npos) << "README.md has no 'Supported operators' section";
  const size_t end = readme.find("\n## ", at + 1);
  const std::string section = readme.substr(at, end == std::string::npos ? std::string::npos : end - at);
  for (const auto& op : listed(&OpInfo::imported))
    EXPECT_TRUE(std::regex_search(section, std::regex("\\b" + op + "\\b")))
        << "README.md's 'Supported operators' does not name " << op;
}

}  // namespace
}  // namespace tinyqat::test
