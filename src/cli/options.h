// Command-line helpers shared by the command files: refusing options a mode would ignore, and the
// top-level `help` / did-you-mean for mistyped commands (main.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace tinyqat::cli {

// An option given on the command line that the chosen mode does not use is an error naming it
// ("--method: not used with --mode dynamic (...)"), never silence. `why` completes the sentence.
void refuse_unused(const std::vector<const CLI::Option*>& options, const std::string& why);

// The closest of `candidates` to a mistyped `word` (edit distance at most 2, or a prefix), "" when none.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// Handles `help [COMMAND...]` and unknown command words before CLI11 parses: prints the help or the list
// of commands with a did-you-mean, and returns the exit code; -1 when the command line is for CLI11.
int pre_parse(CLI::App& app, int argc, char** argv);

// A raw planar 4:2:0 video's geometry (`frames --size`, `data yuv --size`): WIDTHxHEIGHT, even sides
// 1..16384; pix_fmt yuv420p (8-bit) or yuv420p10le. Error naming the flag otherwise.
struct Yuv {
  int64_t w = 0, h = 0;
  int bpc = 8;     // bits per sample
  int sample = 1;  // bytes per sample
  int64_t luma_bytes = 0, frame_bytes = 0;
};
Yuv parse_format(const std::string& size, const std::string& pix_fmt);

}  // namespace tinyqat::cli
