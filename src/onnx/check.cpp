// The ONNX checker (libonnx) on a model tinyqat is about to write. Its own object file: a program that
// links libtinyqat_rt statically pulls libonnx in only when it calls check_onnx.
#include <onnx/checker.h>

#include "core/error.h"
#include "onnx/onnx_io.h"

namespace tinyqat {

void check_onnx(const Model& model) {
  // The checker's library (ONNX 1.12) knows operator schemas up to opset 17 and IR version 8.
  if (model.opset > 17 || model.ir_version > 8) return;
  const std::vector<uint8_t> bytes = export_onnx_bytes(model);
  onnx::ModelProto mp;
  TQ_CHECK(mp.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
           "ONNX checker: cannot reparse the model");
  try {
    onnx::checker::check_model(mp);
  } catch (const std::exception& e) {
    fail("ONNX checker rejects the model: {}", e.what());
  }
}

}  // namespace tinyqat
