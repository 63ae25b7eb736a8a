// libFuzzer target for ONNX models with external data: the input is split into an external data file and
// the model; the data file is written as <dir>/w.bin in a real folder (the seeds' initializers name
// "w.bin"), so the loader runs past the existence check into the location, offset and length checks and
// the read of the claimed range. Models that import are planned by the runtime too.
// Input layout: bytes 0–1 = data file length (little endian, capped at what follows), the data, the model.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_util.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = fuzz::private_dir("fuzz_onnx_external");
  if (size < 2) return 0;
  const size_t n = std::min<size_t>(size_t(data[0]) | (size_t(data[1]) << 8), size - 2);
  if (!fuzz::write_all(dir + "/w.bin", data + 2, n)) return 0;
  const uint8_t* model = data + 2 + n;
  const size_t model_size = size - 2 - n;
  try {
    tinyqat::Model m = tinyqat::import_onnx_bytes(model, model_size, dir, "fuzz.onnx");
    tinyqat::Executor ex(std::move(m));
  } catch (const tinyqat::Error&) {
  }
  try {
    (void)tinyqat::read_onnx_interface(model, model_size, "fuzz.onnx");
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
