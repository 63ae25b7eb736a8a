/* libvmaf's DNN API served by tinyqat (libtinyqat_vmafdnn): C99 and C++.
 *
 * The declarations, struct layouts, enum values and negative-errno results of the VMAF fork's
 * libvmaf/dnn.h, so that a program written for the fork links against libtinyqat_vmafdnn with only a
 * different -l flag (vmaf_use_tiny_model needs libvmaf's VmafContext and is not part of this library).
 * Behaviour, and where it deliberately differs from the fork: docs/vmaf.md.
 *
 * Every function returns 0 on success and a negative errno on failure, never aborts on bad input, and
 * accepts NULL for every pointer (-EINVAL; vmaf_dnn_session_close(NULL) does nothing).
 *
 * Build: pkg-config tinyqat_vmafdnn, or CMake find_package(tinyqat) and link tinyqat::vmafdnn. */
#ifndef TINYQAT_VMAF_DNN_H
#define TINYQAT_VMAF_DNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The device a caller asks for. tinyqat runs on the CPU; any other request opens on the CPU and
 * vmaf_dnn_session_attached_ep says so. Values are the fork's (append-only). */
typedef enum VmafDnnDevice {
  VMAF_DNN_DEVICE_AUTO = 0,
  VMAF_DNN_DEVICE_CPU = 1,
  VMAF_DNN_DEVICE_CUDA = 2,
  VMAF_DNN_DEVICE_OPENVINO = 3,
  VMAF_DNN_DEVICE_ROCM = 4,
  VMAF_DNN_DEVICE_COREML = 5,
  VMAF_DNN_DEVICE_COREML_ANE = 6,
  VMAF_DNN_DEVICE_COREML_GPU = 7,
  VMAF_DNN_DEVICE_COREML_CPU = 8,
  VMAF_DNN_DEVICE_OPENVINO_NPU = 9,
  VMAF_DNN_DEVICE_OPENVINO_CPU = 10,
  VMAF_DNN_DEVICE_OPENVINO_GPU = 11
} VmafDnnDevice;

typedef struct VmafDnnConfig {
  VmafDnnDevice device;
  int device_index; /* ignored (one CPU) */
  int threads;      /* worker threads per run; 0 = all cores */
  bool fp16_io;     /* accepted; tensors stay float32 */
} VmafDnnConfig;

/* 1: this library runs models. */
int vmaf_dnn_available(void);

typedef struct VmafDnnSession VmafDnnSession;

/* Opens `onnx_path` (size cap, VMAF_TINY_MODEL_DIR jail, sidecar "<base>.json", digests pinned by a
 * registry.json beside the model / VMAF_TINY_REGISTRY / the sidecar, op allowlist, the "<base>.int8.onnx"
 * twin with fallback to fp32). cfg may be NULL (AUTO, all cores).
 * Returns -EINVAL (NULL argument, bad cfg), -ENOENT (no such file), -E2BIG (over 50 MB), -EACCES (outside
 * the jail, fp32 digest mismatch), -EPERM (an op outside the allowlist), -EBADMSG (not a loadable model,
 * a sidecar or registry that is not valid JSON), -ENOMEM. */
int vmaf_dnn_session_open(VmafDnnSession** out, const char* onnx_path, const VmafDnnConfig* cfg);

/* One 8-bit luma plane through a [1,1,H,W] model: in/255, then (x - mean) / std from the sidecar; the
 * output is denormalised, rounded half to even and clamped to [0, 255]. Strides in bytes.
 * Returns -EINVAL (NULL, stride < w), -ENOTSUP (the model is not one plane in, one plane out), -ERANGE
 * (w/h differ from the model's fixed size, or are not positive), -EIO (the run failed). */
int vmaf_dnn_session_run_luma8(VmafDnnSession* sess, const uint8_t* in, size_t in_stride, int w, int h,
                               uint8_t* out, size_t out_stride);

/* The same for a packed uint16 plane of `bpc` bits (9..16; values divided by 2^bpc - 1). Strides in
 * bytes. -EINVAL also for a bad bpc. */
int vmaf_dnn_session_run_plane16(VmafDnnSession* sess, const uint16_t* in, size_t in_stride, int w, int h,
                                 int bpc, uint16_t* out, size_t out_stride);

/* One float32 input tensor, bound by graph input name, or by position when name is NULL. */
typedef struct VmafDnnInput {
  const char* name;
  const float* data;
  const int64_t* shape;
  size_t rank;
} VmafDnnInput;

/* One float32 output buffer, bound by graph output name, or by position when name is NULL; `written`
 * receives the element count produced (also on -ENOSPC, so the caller can resize and retry). */
typedef struct VmafDnnOutput {
  const char* name;
  float* data;
  size_t capacity;
  size_t written;
} VmafDnnOutput;

/* Runs the graph on exactly its inputs and outputs. Returns -EINVAL (NULL, wrong arity, unknown name),
 * -ENOSPC (an output buffer too small), -ENOTSUP (a non-float output), -EIO (the run failed: shapes). */
int vmaf_dnn_session_run(VmafDnnSession* sess, const VmafDnnInput* inputs, size_t n_inputs,
                         VmafDnnOutput* outputs, size_t n_outputs);

void vmaf_dnn_session_close(VmafDnnSession* sess);

/* What runs and why, e.g. "tinyqat-cpu int8", "tinyqat-cpu fp32 (int8 digest mismatch)". NULL for a
 * NULL session. Owned by the session. */
const char* vmaf_dnn_session_attached_ep(VmafDnnSession* sess);

/* Sigstore verification of a model through its registry entry's sigstore_bundle with `cosign
 * verify-blob` (the fork's contract). registry_path NULL: "<dirname(onnx_path)>/registry.json".
 * Returns 0 verified, -EINVAL (NULL onnx_path), -ENOENT (no registry, entry, bundle), -EACCES (no cosign
 * on PATH), -EPROTO (cosign refused), -EBADMSG (registry not JSON). */
int vmaf_dnn_verify_signature(const char* onnx_path, const char* registry_path);

#ifdef __cplusplus
}
#endif

#endif /* TINYQAT_VMAF_DNN_H */
