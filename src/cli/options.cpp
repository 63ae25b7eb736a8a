#include "cli/options.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace tinyqat::cli {

void refuse_unused(const std::vector<const CLI::Option*>& options, const std::string& why) {
  for (const CLI::Option* o : options) TQ_CHECK(o->count() == 0, "{}: not used {}", o->get_name(), why);
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(s->get_name());
  return names;
}

std::string command_list(const CLI::App& app) {
  std::string s;
  for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; }))
    s += "  " + c->get_name() + std::string(c->get_name().size() < 10 ? 10 - c->get_name().size() : 1, ' ') +
         c->get_description() + "\n";
  return s;
}

// The command path of `help A B ...` or of a command line, as far as it names subcommands.
CLI::App* descend(CLI::App* app, const std::string& word) {
  for (CLI::App* s : app->get_subcommands([](const CLI::App*) { return true; }))
    if (s->get_name() == word) return s;
  return nullptr;
}

int unknown(const CLI::App& at, const std::string& path, const std::string& word) {
  const std::string what = path.empty() ? "command" : "'" + path + "' command";
  std::fprintf(stderr, "tinyqat: unknown %s '%s'.", what.c_str(), word.c_str());
  const std::string near = closest(word, command_names(at));
  if (!near.empty()) std::fprintf(stderr, " Did you mean '%s'?", near.c_str());
  std::fprintf(stderr, "\n\n%s commands:\n%s\nRun 'tinyqat help %s%sCOMMAND' for one command's options.\n",
               path.empty() ? "tinyqat" : ("tinyqat " + path).c_str(), command_list(at).c_str(), path.c_str(),
               path.empty() ? "" : " ");
  return 2;
}

}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 3;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (word.size() >= 2 && c.compare(0, word.size(), word) == 0) d = std::min<size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

int pre_parse(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "help") {
    CLI::App* at = &app;
    std::string path, parent;  // parent: what `COMMAND --help` prints before the command's name
    for (size_t i = 1; i < args.size(); ++i) {
      CLI::App* next = descend(at, args[i]);
      if (!next) return unknown(*at, path, args[i]);
      parent = at == &app ? app.get_name() : parent + " " + at->get_name();
      path += (path.empty() ? "" : " ") + args[i];
      at = next;
    }
    std::fputs(at->help(at == &app ? "" : parent).c_str(), stdout);
    return 0;
  }
  // A command word that names no command, at any level that takes commands (tinyqat X, tinyqat registry X).
  CLI::App* at = &app;
  std::string path;
  for (const auto& a : args) {
    if (a.empty() || a[0] == '-') return -1;  // options: CLI11's business
    if (command_names(*at).empty()) return -1;
    CLI::App* next = descend(at, a);
    if (!next) return unknown(*at, path, a);
    path += (path.empty() ? "" : " ") + a;
    at = next;
  }
  return -1;
}

Yuv parse_format(const std::string& size, const std::string& pix_fmt) {
  Yuv y;
  char x = 0, extra = 0;
  long long w = 0, h = 0;
  if (std::sscanf(size.c_str(), "%lld%c%lld%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') ||
      w <= 0 || h <= 0 || w > 16384 || h > 16384)
    fail("--size '{}': expected WIDTHxHEIGHT with sides 1..16384, e.g. 1920x1080", size);
  if (w % 2 != 0 || h % 2 != 0)
    fail("--size {}: {} needs an even width and height (4:2:0 chroma)", size, pix_fmt);
  y.w = w;
  y.h = h;
  if (pix_fmt == "yuv420p10le") {
    y.bpc = 10;
    y.sample = 2;
  }
  y.luma_bytes = y.w * y.h * y.sample;
  y.frame_bytes = y.luma_bytes + 2 * (y.w / 2) * (y.h / 2) * y.sample;
  return y;
}

}  // namespace tinyqat::cli
