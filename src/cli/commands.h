// The tinyqat command line: one file per command, each adding a CLI11 subcommand.
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace tinyqat::cli {

// The commands that load LibTorch or OpenCV live in the executable tinyqat-train (TINYQAT_CLI_TOOLS),
// next to `tinyqat` or in ../libexec/tinyqat; `tinyqat` lists them with these descriptions and execs that
// executable for them, so the runtime commands start without loading either
// (docs/decisions/0005-cli-startup.md). Each is the description its cmd_*.cpp gives CLI11.
struct ToolCommand {
  const char* name;
  const char* description;
};
inline constexpr ToolCommand kPtqCommand{
    "ptq", "Post-training quantization: dynamic, or static with a calibration set"};
inline constexpr ToolCommand kDataCommand{
    "data",
    "Build training/eval sets (.npz) from real photos and feature CSVs; show or convert data files (see "
    "docs/data.md)"};
inline constexpr ToolCommand kRegistryCommand{
    "registry", "The model registry (registry.json, the fork's schema): validate, add, set, show"};
inline constexpr ToolCommand kMeasureCommand{
    "measure",
    "Accuracy gate: fp32 vs int8 for registry entries (PLCC, SROCC, RMSE, max |diff|, "
    "PASS/FAIL against the budget); exit 0 all pass, 1 any over budget, 2 any error"};
inline constexpr ToolCommand kQuantizeCommand{
    "quantize",
    "Quantization ladder: dynamic → static → mixed → QAT, each rung measured (PLCC drop, latency, size); "
    "keeps the rung --objective picks within the PLCC budget (exit 0 kept one, 1 none fits: the model stays "
    "fp32, 2 error)"};
inline constexpr ToolCommand kTrainCommand{
    "train", "Train the fp32 model of a config and write its checkpoint (.onnx)"};
// Options of a runtime command that need OpenCV: the command line goes to tinyqat-train when it has one.
struct ToolOption {
  const char* command;
  const char* option;
};
inline constexpr ToolOption kToolOptions[] = {{"compare", "--plot"}};  // the SQNR chart (a PNG)

inline constexpr ToolCommand kQatCommand{
    "qat", "Quantization-aware training: fp32 phase, fake-quant, QAT fine-tune, QDQ export (every phase)"};

// Each returns the action to run when its subcommand was chosen (returns the exit code).
std::function<int()> add_inspect(CLI::App& app);
std::function<int()> add_run(CLI::App& app);
std::function<int()> add_zoo(CLI::App& app);
std::function<int()> add_bench(CLI::App& app);
std::function<int()> add_ptq(CLI::App& app);
std::function<int()> add_compare(CLI::App& app);
std::function<int()> add_data(CLI::App& app);
std::function<int()> add_registry(CLI::App& app);
std::function<int()> add_measure(CLI::App& app);
std::function<int()> add_resolve(CLI::App& app);
std::function<int()> add_quantize(CLI::App& app);
std::function<int()> add_frames(CLI::App& app);  // cmd_frames.cpp: vmaf models over raw YUV frames
#ifdef TINYQAT_HAVE_TRAIN
std::function<int()> add_train(CLI::App& app);  // cmd_train.cpp, built with the trainer
std::function<int()> add_qat(CLI::App& app);
#endif

}  // namespace tinyqat::cli
