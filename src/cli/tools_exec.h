// `tinyqat` runs the runtime commands itself and hands the others (LibTorch, OpenCV) to the executable
// tinyqat-train with the same command line (docs/decisions/0005-cli-startup.md).
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tinyqat::cli {

// The executable beside this one (/proc/self/exe) or in ../libexec/tinyqat/ that holds every command;
// throws tinyqat::Error naming both places when neither has it.
std::string tools_executable();

// When the command line's command (`tinyqat COMMAND ...` or `tinyqat help COMMAND ...`) is a subcommand
// of `app` that is not in `local`, replaces this process with tinyqat-train and the same arguments (so it
// does not return), or prints one error line and returns 2 when that fails; -1 when this process runs
// the command line itself.
int run_tools_command(const CLI::App& app, const std::vector<const CLI::App*>& local, int argc, char** argv);

}  // namespace tinyqat::cli
