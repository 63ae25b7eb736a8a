// ONNX front-end and back-end: protobuf ↔ graph IR, all in libtinyqat_rt (import.cpp, export.cpp, and
// check.cpp — the ONNX checker, the one piece that needs libonnx rather than its protobuf messages).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/interface.h"
#include "ir/op_list.h"  // kMinOpset, kMaxOpset: the opsets import reads

namespace tinyqat {

// Opset written for graphs tinyqat builds.
constexpr int64_t kExportOpset = 17;

// `base_dir` resolves external data; `what` names the source in errors.
Model import_onnx_bytes(const uint8_t* data, size_t size, const std::string& base_dir,
                        const std::string& what);
Model import_onnx(const std::string& path);
// The interface the file declares (graph inputs that are not initializers, graph outputs), read from the
// protobuf alone: nothing else is checked and external data is not read.
Interface read_onnx_interface(const uint8_t* data, size_t size, const std::string& what);

struct ExportOptions {
  // Initializers of at least this many bytes go to an external data file "<model file>.data"
  // (0 = everything inline).
  size_t external_data_threshold = 0;
};

// Serialises deterministically: identical IR → identical bytes.
std::vector<uint8_t> export_onnx_bytes(const Model& model);
// Writes atomically; with external data also writes "<path>.data".
void export_onnx(const Model& model, const std::string& path, const ExportOptions& opts = {});
// Runs onnx::checker on the serialised model (opset ≤ 17 and IR ≤ 8: the checker's library knows no
// newer; others are not checked); throws Error with the checker's message.
void check_onnx(const Model& model);

}  // namespace tinyqat
