// Entry point: parses the command line and maps errors to exit codes (0 ok, 2 bad input or usage);
// `tinyqat help [COMMAND]` and mistyped commands (did you mean …) are handled before CLI11 parses.
// Built twice: `tinyqat` (the runtime commands; the others are listed and handed to tinyqat-train by
// exec, tools_exec.h) and tinyqat-train (TINYQAT_CLI_TOOLS: every command, LibTorch and OpenCV loaded).
#include <cstdio>
#include <filesystem>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tools_exec.h"
#include "core/error.h"
#include "core/version.h"

int main(int argc, char** argv) {
  CLI::App app{"tinyqat — train, quantize and serve tiny neural networks as int8 ONNX", "tinyqat"};
  app.set_version_flag("--version", std::string("tinyqat ") + tinyqat::kVersion);
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, std::function<int()>>> cmds;
  auto add = [&](std::function<int()> (*f)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    auto action = f(app);
    cmds.emplace_back(app.get_subcommands({})[before], action);
  };
#ifdef TINYQAT_CLI_TOOLS
#define TQ_TOOL(add_fn, command) add(add_fn)
#else
  // Listed (help, did-you-mean) but run by tinyqat-train: run_tools_command execs it before parsing.
#define TQ_TOOL(add_fn, command) app.add_subcommand((command).name, (command).description)
#endif
  add(tinyqat::cli::add_inspect);
  add(tinyqat::cli::add_run);
  add(tinyqat::cli::add_zoo);
  add(tinyqat::cli::add_bench);
  TQ_TOOL(tinyqat::cli::add_ptq, tinyqat::cli::kPtqCommand);
  add(tinyqat::cli::add_compare);
  TQ_TOOL(tinyqat::cli::add_data, tinyqat::cli::kDataCommand);
  TQ_TOOL(tinyqat::cli::add_registry, tinyqat::cli::kRegistryCommand);
  TQ_TOOL(tinyqat::cli::add_measure, tinyqat::cli::kMeasureCommand);
  add(tinyqat::cli::add_resolve);
  TQ_TOOL(tinyqat::cli::add_quantize, tinyqat::cli::kQuantizeCommand);
  add(tinyqat::cli::add_frames);
#ifdef TINYQAT_HAVE_TRAIN
  TQ_TOOL(tinyqat::cli::add_train, tinyqat::cli::kTrainCommand);
  TQ_TOOL(tinyqat::cli::add_qat, tinyqat::cli::kQatCommand);
#endif
#undef TQ_TOOL
  app.footer(
      "Run 'tinyqat help COMMAND' (or 'tinyqat COMMAND --help') for a command's options and defaults.");
#ifndef TINYQAT_CLI_TOOLS
  std::vector<const CLI::App*> local;
  for (auto& c : cmds) local.push_back(c.first);
  if (int code = tinyqat::cli::run_tools_command(app, local, argc, argv); code >= 0) return code;
#endif
  if (int code = tinyqat::cli::pre_parse(app, argc, argv); code >= 0) return code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  try {
    for (auto& [sub, action] : cmds)
      if (sub->parsed()) return action();
  } catch (const tinyqat::Error& e) {
    std::fprintf(stderr, "tinyqat: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tinyqat: error: out of memory\n");
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {  // a library call that escaped its Error
    std::fprintf(stderr, "tinyqat: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinyqat: error: %s\n", e.what());
    return 2;
  } catch (...) {
    std::fprintf(stderr, "tinyqat: error: unexpected failure\n");
    return 2;
  }
  return 2;
}
