// The path checks of an open, in the fork's order: resolve symlinks, the VMAF_TINY_MODEL_DIR jail (before
// any other I/O on the target), a regular file, the 50 MB cap, not empty.
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/file_util.h"
#include "vmafdnn/vmafdnn.h"

namespace tinyqat::vmafdnn {

namespace {

std::optional<std::string> canonical(const std::string& path, int* err) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    *err = errno;
    return std::nullopt;
  }
  return std::string(buf);
}

// Refuses a canonical path outside the jail; a jail that does not resolve to a folder refuses everything.
void enforce_jail(const std::string& resolved) {
  const char* env = std::getenv("VMAF_TINY_MODEL_DIR");
  if (env == nullptr || env[0] == '\0') return;
  int err = 0;
  std::optional<std::string> jail = canonical(env, &err);
  struct stat st {};
  if (!jail || ::stat(jail->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Refusal(-EACCES, fmt::format("VMAF_TINY_MODEL_DIR '{}' is not a folder", env));
  std::string prefix = *jail;
  if (prefix.back() != '/') prefix += '/';
  if (resolved.size() <= prefix.size() || resolved.compare(0, prefix.size(), prefix) != 0)
    throw Refusal(-EACCES, fmt::format("{} is outside VMAF_TINY_MODEL_DIR {}", resolved, *jail));
}

}  // namespace

ModelFile check_model_file(const std::string& path) {
  int err = 0;
  std::optional<std::string> resolved = canonical(path, &err);
  if (!resolved) throw Refusal(-err, fmt::format("{}: {}", path, std::strerror(err)));
  enforce_jail(*resolved);
  struct stat st {};
  if (::stat(resolved->c_str(), &st) != 0) {
    const int e = errno;
    throw Refusal(-e, fmt::format("{}: {}", *resolved, std::strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) throw Refusal(-ENOENT, fmt::format("{}: not a regular file", *resolved));
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxModelBytes)
    throw Refusal(-E2BIG, fmt::format("{}: {} bytes, over the {} byte cap", *resolved, size, kMaxModelBytes));
  if (size == 0) throw Refusal(-EBADMSG, fmt::format("{}: empty file", *resolved));
  return ModelFile{*resolved, size};
}

std::vector<uint8_t> read_model_bytes(const ModelFile& f) {
  std::vector<uint8_t> bytes;
  try {
    bytes = read_file(f.path);
  } catch (const Error& e) {
    throw Refusal(-EIO, e.what());
  }
  if (bytes.size() > kMaxModelBytes) throw Refusal(-E2BIG, fmt::format("{}: over the size cap", f.path));
  return bytes;
}

}  // namespace tinyqat::vmafdnn
