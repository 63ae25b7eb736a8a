// Shared by the tests: deterministic data, temporary folders, the ORT reference bridge and the
// fixture models the project builds itself.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/npy.h"
#include "ir/graph.h"

namespace tinyqat::test {

namespace fs = std::filesystem;

// A fresh, empty folder under the build tree (per process), named after the test.
fs::path temp_dir(const std::string& name);

// A whole file as text.
std::string text_of(const fs::path& p);

// Runs the tinyqat command line (build/tinyqat ARGS); its stdout and stderr are kept (files in `work`).
struct CliResult {
  int code;
  std::string err, out;
};
CliResult cli(const std::string& args, const fs::path& work);
// The same, run in folder `cwd` (relative paths in ARGS and in configs resolve there).
CliResult cli_in(const fs::path& cwd, const std::string& args, const fs::path& work);

// Scale of the DequantizeLinear that last touched output value `v` (through float Clip, Relu, Squeeze,
// Reshape); 0 when the output does not come out of one.
double output_step(const Model& m, std::string v);

// Deterministic pseudo-random data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  uint32_t next() {
    s_ = s_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s_ >> 33);
  }
  float uniform(float lo = 0.f, float hi = 1.f) { return lo + (hi - lo) * (next() / 2147483648.0f); }
  float normal();

 private:
  uint64_t s_;
};
Tensor random_tensor(const Shape& shape, Rng& rng, float lo, float hi);
Tensor random_int8(const Shape& shape, Rng& rng, DType t);
// A luma-like image batch in [0, 1]: smooth gradients, edges and mild noise (not white noise).
Tensor luma_images(int64_t n, int64_t h, int64_t w, uint64_t seed);

// Whether ORT's integer kernels give the exact integer results on this CPU: not on x86 without VNNI
// (AVX-512 VNNI or AVX-VNNI), where its u8·s8 GEMM adds pairs of products in saturating int16
// (vpmaddubsw; ORT's and OpenVINO's docs call it the saturation issue). TQ_TEST_ORT_REFERENCE=float
// answers false anywhere (to exercise the reference below on a VNNI host).
bool ort_integer_kernels_exact();

// Runs ONNX Runtime (npm onnxruntime-node, tools/ort) on a model file; returns outputs in graph order.
// Where ort_integer_kernels_exact() is false, a quantized model runs unoptimised (Q/DQ as float
// operators) with ConvInteger / MatMulInteger (constant weights) evaluated in float, exactly: the
// integer semantics without ORT's saturating kernels. QLinearConv / QLinearMatMul written as such are
// not rewritten (tinyqat writes QDQ; its QOperator fixture has int8 activations, which ORT computes
// exactly).
// `optimized_model` (optional) receives the graph ORT actually runs.
std::vector<Tensor> ort_run(const fs::path& model, const NamedTensors& inputs,
                            const std::vector<std::string>& outputs, const fs::path& work,
                            const std::string& optimized_model = "");

// "domain.op_type" of every node of an ONNX file, read with the plain protobuf (works for files with
// ops the importer refuses, such as ORT's optimized com.microsoft graphs).
std::vector<std::string> onnx_op_types(const fs::path& model);

// The shared folder with real models, or empty when it is not there (tests then print SKIP).
fs::path shared_dir();

struct Fixture {
  std::string name;
  Model model;
  std::function<NamedTensors(int64_t batch)> inputs;
  bool quantized = false;
  size_t external_threshold = 0;  // > 0: export with external data
};
std::vector<Fixture> fixtures();

// max |a − b| and the largest allowed: fp32 tolerance 1e-4·max(1, |ref|) element-wise.
struct Agreement {
  double max_abs = 0;
  bool ok = true;
  std::string where;
};
Agreement compare_fp32(const Tensor& ours, const Tensor& ref, double rel = 1e-4);
// Integer tensors: at most `steps` apart; float tensors: at most `steps`·`step` apart.
Agreement compare_steps(const Tensor& ours, const Tensor& ref, double step, double steps = 1.0);
// The counterpart for a float output (a float head, qdq::float_heads): how far it may move when every
// quantized tensor feeding it is one step off — one step of each DequantizeLinear reached through Clip,
// Relu, Squeeze, Reshape, Flatten and Add, and, through a Conv / Gemm / MatMul on dequantized operands,
// one input step times the largest Σ|w| of an output channel. 0 when nothing quantized feeds it.
double float_head_slack(const Model& m, const std::string& v);
// Float outputs: |ours − ref| ≤ slack + rel·max(1, |ref|).
Agreement compare_float_head(const Tensor& ours, const Tensor& ref, double slack, double rel = 1e-4);

}  // namespace tinyqat::test
