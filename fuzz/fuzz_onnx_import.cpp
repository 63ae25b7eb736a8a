// libFuzzer target for the ONNX importer: arbitrary bytes must end in a model or a tinyqat::Error,
// never in a crash, a sanitizer report or an unchecked allocation. Models that import are also
// planned by the runtime (kernels created, weights packed), which validates attributes further.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tinyqat::Model m = tinyqat::import_onnx_bytes(data, size, "/nonexistent-fuzz-dir", "fuzz.onnx");
    tinyqat::Executor ex(std::move(m));
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
