// The tinyqat command line: one file per command, each adding a CLI11 subcommand.
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace tinyqat::cli {

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
