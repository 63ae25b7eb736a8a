#include "cli/tools_exec.h"

#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tinyqat::cli {

namespace fs = std::filesystem;

std::string tools_executable() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  TQ_CHECK(!ec, "cannot find this program's executable (/proc/self/exe: {})", ec.message());
  const fs::path beside = self.parent_path() / "tinyqat-train";
  const fs::path libexec = self.parent_path().parent_path() / "libexec" / "tinyqat" / "tinyqat-train";
  for (const fs::path& p : {beside, libexec})
    if (access(p.c_str(), X_OK) == 0) return p.string();
  throw Error(fmt::format("this command runs in tinyqat-train, found neither at {} nor at {}",
                          beside.string(), libexec.string()));
}

int run_tools_command(const CLI::App& app, const std::vector<const CLI::App*>& local, int argc, char** argv) {
  // The first word that is not an option names the command; after `help`, the word after it.
  int i = 1;
  while (i < argc && argv[i][0] == '-') ++i;
  if (i < argc && std::strcmp(argv[i], "help") == 0) ++i;
  if (i >= argc) return -1;
  const std::string word = argv[i];
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    if (s->get_name() == word) sub = s;
  if (!sub) return -1;
  bool tools = std::find(local.begin(), local.end(), sub) == local.end();
  for (const ToolOption& t : kToolOptions) {
    if (word != t.command) continue;
    const size_t n = std::strlen(t.option);
    for (int j = i + 1; j < argc && std::strcmp(argv[j], "--") != 0; ++j)
      if (std::strncmp(argv[j], t.option, n) == 0 && (argv[j][n] == '\0' || argv[j][n] == '=')) tools = true;
  }
  if (!tools) return -1;
  try {
    const std::string exe = tools_executable();
    std::fflush(nullptr);
    execv(exe.c_str(), argv);
    throw Error(fmt::format("{}: cannot start it: {}", exe, std::strerror(errno)));
  } catch (const Error& e) {
    std::fprintf(stderr, "tinyqat: error: %s: %s\n", word.c_str(), e.what());
    return 2;
  }
}

}  // namespace tinyqat::cli
