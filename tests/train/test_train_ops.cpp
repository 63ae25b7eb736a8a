// The trainer's forward table (src/train/forward_ops.cpp) against the one op list (src/ir/op_list.h):
// the trainer runs exactly the ops the list says it runs, and every op it lacks has a stated reason.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ir/op_list.h"
#include "train/forward_ops.h"

namespace tinyqat::test {
namespace {

TEST(TrainOps, TheForwardTableIsExactlyTheListedOnes) {
  std::set<std::string> has, want;
  for (const auto& [op, fn] : train::forward_ops()) has.insert(op);
  for (const OpInfo& op : kOps)
    if (op.trainer.yes()) want.insert(std::string(op.name));
  for (const auto& op : has)
    EXPECT_TRUE(want.count(op)) << "src/train/forward_ops.cpp runs " << op << ", but src/ir/op_list.h "
                                << (find_op("", op) ? "says the trainer does not" : "does not list it");
  for (const auto& op : want)
    EXPECT_TRUE(has.count(op)) << "src/ir/op_list.h says the trainer runs " << op
                               << ", but src/train/forward_ops.cpp has no forward for it";
  for (const OpInfo& op : kOps) {
    if (!op.trainer.yes()) {
      EXPECT_GT(std::string(op.trainer.why_not).size(), 10u) << op.name;
    }
  }
}

// The ops the trainer runs are fp32 ops the runtime also runs (a trained graph is deployed as is).
TEST(TrainOps, EveryTrainedOpIsAnFp32OpTheRuntimeRuns) {
  for (const OpInfo& op : kOps)
    if (op.trainer.yes()) {
      EXPECT_FALSE(op.quantized) << op.name;
      EXPECT_TRUE(op.kernel.yes()) << op.name;
      EXPECT_TRUE(op.imported.yes()) << op.name;
    }
}

}  // namespace
}  // namespace tinyqat::test
