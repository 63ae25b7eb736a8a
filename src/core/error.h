// Errors that reach the user. Every failure caused by input (a file, a flag, a tensor) is an Error:
// the CLI prints its message on one line and exits 2. Anything else is a bug.
#pragma once
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace tinyqat {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

#define TQ_CHECK(cond, ...)                    \
  do {                                         \
    if (!(cond)) ::tinyqat::fail(__VA_ARGS__); \
  } while (0)

}  // namespace tinyqat
