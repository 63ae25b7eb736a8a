// Files named and checked in one place: a model's twin names (core/model_paths.h) and a file pinned by
// its sha256 (core/sha256.h read_pinned), which the registry, the gate and `registry validate` share.
#include <gtest/gtest.h>

#include "core/file_util.h"
#include "core/model_paths.h"
#include "core/sha256.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

TEST(ModelPaths, OneRuleForTheTwinNames) {
  EXPECT_EQ(int8_twin("models/lf.onnx"), "models/lf.int8.onnx");
  EXPECT_EQ(int8_twin("lf"), "lf.int8.onnx");
  EXPECT_EQ(onnx_stem("a/b.onnx"), "a/b");
  EXPECT_EQ(int8_sibling("out/m.int8.onnx", ".fp32.onnx"), "out/m.fp32.onnx");
  EXPECT_EQ(int8_sibling("out/m.onnx", ".ckpt.onnx"), "out/m.ckpt.onnx");
  EXPECT_EQ(int8_sibling("m", ".fp32.onnx"), "m.fp32.onnx");
  // The twin of a twin's fp32 sibling is the twin again.
  EXPECT_EQ(int8_twin(int8_sibling("x/m.int8.onnx", ".onnx")), "x/m.int8.onnx");
}

TEST(PinnedFile, VerifiesTheBytesItReturnsAndNamesEveryProblem) {
  fs::path dir = temp_dir("pinned");
  const std::string p = (dir / "m.onnx").string();
  write_file_atomic(p, std::string("model bytes"));
  const std::string want = sha256_hex(read_file(p));
  EXPECT_EQ(want, sha256_file(p));
  ASSERT_EQ(want.size(), 64u);

  PinnedFile ok = read_pinned(p, want, "the registry");
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(std::string(ok.bytes.begin(), ok.bytes.end()), "model bytes");
  EXPECT_EQ(ok.sha256, want);
  EXPECT_TRUE(ok.problem.empty());

  // One byte changed: refused, no bytes handed out, both digests named.
  write_file_atomic(p, std::string("model bytez"));
  PinnedFile bad = read_pinned(p, want, "the registry");
  EXPECT_EQ(bad.status, PinnedFile::Status::Mismatch);
  EXPECT_TRUE(bad.bytes.empty());
  EXPECT_NE(bad.problem.find(p + " has sha256 " + bad.sha256 + ", the registry pins " + want),
            std::string::npos)
      << bad.problem;

  PinnedFile missing = read_pinned((dir / "nope.onnx").string(), want, "the registry");
  EXPECT_EQ(missing.status, PinnedFile::Status::Missing);
  EXPECT_NE(missing.problem.find("nope.onnx is missing"), std::string::npos) << missing.problem;

  PinnedFile folder = read_pinned(dir.string(), want, "the registry");  // exists, not a regular file
  EXPECT_EQ(folder.status, PinnedFile::Status::Unreadable);
  EXPECT_NE(folder.problem.find("not a regular file"), std::string::npos) << folder.problem;
}

}  // namespace
}  // namespace tinyqat::test
