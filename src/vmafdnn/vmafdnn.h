// libtinyqat_vmafdnn internals: the fork's libvmaf DNN API (include/tinyqat/vmaf_dnn.h) on tinyqat's CPU
// runtime. One file per concern: model_file (size cap, jail, int8 twin name), sidecar (<base>.json),
// op_allowlist (what the runtime executes), session_open (pins, int8 or fallback), planes (luma8 /
// plane16 ↔ float), dnn_api (the C entry points), signature (cosign). docs/vmaf.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "session/input_recorder.h"
#include "tinyqat/vmaf_dnn.h"

namespace tinyqat {
class Executor;
}

namespace tinyqat::vmafdnn {

// An open refused with a negative errno (caught at the C boundary; the message goes to stderr only
// where the fork's contract promises a log line).
class Refusal : public Error {
 public:
  Refusal(int neg_errno, const std::string& what) : Error(what), err(neg_errno) {}
  int err;
};

// --- model_file.cpp ---
inline constexpr uint64_t kMaxModelBytes = uint64_t(50) * 1024 * 1024;  // the fork's compile-time cap
// A model file that passed the path checks: canonical path (symlinks resolved) inside the
// VMAF_TINY_MODEL_DIR jail when that is set, a regular file of 1 byte .. kMaxModelBytes.
struct ModelFile {
  std::string path;  // canonical
  uint64_t size = 0;
};
// Throws Refusal: -ENOENT (missing, not a regular file), -EACCES (outside the jail, or the jail itself
// is not a folder), -E2BIG (over the cap), -EBADMSG (empty).
ModelFile check_model_file(const std::string& path);
std::vector<uint8_t> read_model_bytes(const ModelFile& f);  // Refusal -EIO when it cannot be read

// --- sidecar.cpp ---
struct Sidecar {
  bool present = false;
  std::string path;
  std::string id, kind;  // kind: "fr", "nr", "filter", ... ("" when absent)
  std::string quant_mode =
      "fp32";  // fp32 / dynamic / static / qat (anything else reads as fp32, as the fork)
  std::optional<std::string> sha256, int8_sha256;  // the registry pins the fork mirrors here
  bool has_norm = false;
  float norm_mean = 0.f, norm_std = 1.f;
  bool has_range = false;
  float out_min = 0.f, out_max = 0.f;
};
// "<stem>.json" beside `onnx_path`. Absent: present = false. Throws Refusal -EBADMSG when it is not a JSON
// object or a known key has the wrong type, -EFBIG over 1 MiB, -EIO when unreadable.
Sidecar read_sidecar(const std::string& onnx_path);

// --- op_allowlist.cpp ---
// The ops this library lets load: those the runtime executes (src/ir/op_list.h: imported and with a
// kernel), quantized ops included. Throws Refusal -EPERM naming the first op outside it (subgraphs
// included), -EBADMSG when the bytes are not an ONNX model.
void check_allowlist(const uint8_t* data, size_t size, const std::string& what);
bool op_allowed(const std::string& domain, const std::string& op_type);

// --- planes.cpp ---
struct Norm {
  float mean = 0.f, std = 1.f;
};
// The sidecar's normalisation (identity without one).
inline Norm norm_of(const Sidecar& m) {
  return m.has_norm ? Norm{m.norm_mean, m.norm_std} : Norm{};
}
// Plane of `w`×`h` samples (stride in bytes) → float: v / max_value, then (x − mean) / std.
void plane8_to_float(const uint8_t* in, size_t stride, int w, int h, Norm n, float* dst);
void plane16_to_float(const uint16_t* in, size_t stride, int w, int h, int bpc, Norm n, float* dst);
// float → plane: (y·std + mean)·max_value, rounded half to even, clamped to [0, max_value] (NaN → 0).
void float_to_plane8(const float* src, int w, int h, Norm n, uint8_t* out, size_t stride);
void float_to_plane16(const float* src, int w, int h, int bpc, Norm n, uint16_t* out, size_t stride);

}  // namespace tinyqat::vmafdnn

// The C API's opaque session.
struct VmafDnnSession {
  std::unique_ptr<tinyqat::Executor> exec;
  tinyqat::vmafdnn::Sidecar meta;
  std::string model_path;  // the file that runs
  std::string ep;          // vmaf_dnn_session_attached_ep
  bool int8 = false;
  // Plane models: one input [1,1,H,W] and one output of H·W elements. plane_h/plane_w are -1 when the
  // model's size is dynamic.
  bool plane_model = false;
  int64_t plane_h = -1, plane_w = -1;
  std::vector<std::string> input_names, output_names;
  // TINYQAT_RECORD=FILE.npz (TINYQAT_RECORD_SAMPLES=N, default 256): the inputs the model is fed, as
  // calibration data (session/input_recorder.h); written when the session closes.
  std::unique_ptr<tinyqat::InputRecorder> recorder;
  ~VmafDnnSession();
};

namespace tinyqat::vmafdnn {
// session_open.cpp: the whole open; throws Refusal.
std::unique_ptr<VmafDnnSession> open_session(const std::string& onnx_path, const VmafDnnConfig* cfg);
}  // namespace tinyqat::vmafdnn
