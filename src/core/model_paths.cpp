#include "core/model_paths.h"

#include <cstring>
#include <filesystem>

namespace tinyqat {

namespace {
bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}
}  // namespace

std::string onnx_stem(const std::string& path) {
  return ends_with(path, ".onnx") ? path.substr(0, path.size() - 5) : path;
}

std::string int8_twin(const std::string& fp32_path) {
  return onnx_stem(fp32_path) + kInt8Suffix;
}

std::string int8_sibling(const std::string& int8_path, const std::string& suffix) {
  if (int8_path.size() > std::strlen(kInt8Suffix) && ends_with(int8_path, kInt8Suffix))
    return int8_path.substr(0, int8_path.size() - std::strlen(kInt8Suffix)) + suffix;
  std::filesystem::path p(int8_path);
  return (p.parent_path() / (p.stem().string() + suffix)).string();
}

}  // namespace tinyqat
