// The names a model's files take beside it, derived here and nowhere else: "<stem>.onnx" has its int8
// twin "<stem>.int8.onnx" (the registry's rule and `tinyqat quantize`'s default output), and the QAT
// trainer writes the files that go with "<stem>.int8.onnx" as "<stem>.fp32.onnx" / "<stem>.ckpt.onnx".
#pragma once
#include <string>

namespace tinyqat {

inline constexpr const char* kInt8Suffix = ".int8.onnx";

// "m.onnx" → "m"; a name without ".onnx" is returned as it is.
std::string onnx_stem(const std::string& path);
// "m.onnx" → "m.int8.onnx".
std::string int8_twin(const std::string& fp32_path);
// "m.int8.onnx" → "m" + suffix; another name loses its last extension: "out.onnx" → "out" + suffix.
std::string int8_sibling(const std::string& int8_path, const std::string& suffix);

}  // namespace tinyqat
