// libFuzzer target for libvmaf's DNN open path (src/vmafdnn): the input is split into a sidecar
// "<stem>.json" and model bytes "<stem>.onnx", written to a private folder, then opened, run on an 8×8
// luma plane and through the named-tensor entry point. Any bytes must end in a negative errno or a
// session, never a crash, a sanitizer report or an exception across the C boundary.
// Input layout: byte 0 = sidecar length (0..255), then the sidecar, then the model.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "tinyqat/vmaf_dnn.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = fuzz::private_dir("fuzz_vmafdnn_open");
  if (size < 1) return 0;
  const size_t side = std::min<size_t>(data[0], size - 1);
  const std::string model = dir + "/m.onnx", sidecar = dir + "/m.json";
  ::unlink((dir + "/m.int8.onnx").c_str());
  if (side > 0) {
    if (!fuzz::write_all(sidecar, data + 1, side)) return 0;
  } else {
    ::unlink(sidecar.c_str());
  }
  if (!fuzz::write_all(model, data + 1 + side, size - 1 - side)) return 0;
  VmafDnnSession* s = nullptr;
  VmafDnnConfig cfg{VMAF_DNN_DEVICE_CPU, 0, 1, false};
  if (vmaf_dnn_session_open(&s, model.c_str(), &cfg) != 0) return 0;
  (void)vmaf_dnn_session_attached_ep(s);
  uint8_t in[64] = {0}, out[64];
  for (int i = 0; i < 64; ++i) in[i] = uint8_t(i * 4);
  (void)vmaf_dnn_session_run_luma8(s, in, 8, 8, 8, out, 8);
  float x[64] = {0}, y[64];
  const int64_t shape[4] = {1, 1, 8, 8};
  VmafDnnInput ti{nullptr, x, shape, 4};
  VmafDnnOutput to{nullptr, y, 64, 0};
  (void)vmaf_dnn_session_run(s, &ti, 1, &to, 1);
  vmaf_dnn_session_close(s);
  return 0;
}
