/* A C99 program written for libvmaf's DNN API, built twice by tests/c/vmafdnn_abi.sh: against
 * include/tinyqat/vmaf_dnn.h and against the fork's own libvmaf/dnn.h (-DFORK_DNN_H), both linked with
 * -ltinyqat_vmafdnn. It prints the ABI it was compiled with (struct sizes and offsets, enum values: the
 * two builds must print the same), then exercises every entry point and error code.
 *
 *   vmafdnn_abi layout
 *   vmafdnn_abi run FILTER.onnx        (a learned_filter with dynamic H, W) */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef FORK_DNN_H
#include "dnn.h"
#else
#include <tinyqat/vmaf_dnn.h>
#endif

static int failures = 0;
#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

static void layout(void) {
  printf("VmafDnnConfig size=%zu device=%zu device_index=%zu threads=%zu fp16_io=%zu\n",
         sizeof(VmafDnnConfig), offsetof(VmafDnnConfig, device), offsetof(VmafDnnConfig, device_index),
         offsetof(VmafDnnConfig, threads), offsetof(VmafDnnConfig, fp16_io));
  printf("VmafDnnInput size=%zu name=%zu data=%zu shape=%zu rank=%zu\n", sizeof(VmafDnnInput),
         offsetof(VmafDnnInput, name), offsetof(VmafDnnInput, data), offsetof(VmafDnnInput, shape),
         offsetof(VmafDnnInput, rank));
  printf("VmafDnnOutput size=%zu name=%zu data=%zu capacity=%zu written=%zu\n", sizeof(VmafDnnOutput),
         offsetof(VmafDnnOutput, name), offsetof(VmafDnnOutput, data), offsetof(VmafDnnOutput, capacity),
         offsetof(VmafDnnOutput, written));
  printf("VmafDnnDevice size=%zu values=%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n", sizeof(VmafDnnDevice),
         VMAF_DNN_DEVICE_AUTO, VMAF_DNN_DEVICE_CPU, VMAF_DNN_DEVICE_CUDA, VMAF_DNN_DEVICE_OPENVINO,
         VMAF_DNN_DEVICE_ROCM, VMAF_DNN_DEVICE_COREML, VMAF_DNN_DEVICE_COREML_ANE, VMAF_DNN_DEVICE_COREML_GPU,
         VMAF_DNN_DEVICE_COREML_CPU, VMAF_DNN_DEVICE_OPENVINO_NPU, VMAF_DNN_DEVICE_OPENVINO_CPU,
         VMAF_DNN_DEVICE_OPENVINO_GPU);
}

static int run(const char* model) {
  VmafDnnConfig cfg;
  VmafDnnSession* s = NULL;
  VmafDnnSession* none = NULL;
  unsigned char in8[16 * 12], out8[16 * 12];
  unsigned short in16[16 * 12], out16[16 * 12];
  float x[16 * 12], y[16 * 12], small[4];
  const int64_t shape[4] = {1, 1, 12, 16};
  VmafDnnInput in;
  VmafDnnOutput out;
  int i;
  for (i = 0; i < 16 * 12; ++i) {
    in8[i] = (unsigned char)(i * 7 % 256);
    in16[i] = (unsigned short)(i * 29 % 1024);
    x[i] = (float)in8[i] / 255.0f;
  }
  memset(&cfg, 0, sizeof cfg);
  cfg.device = VMAF_DNN_DEVICE_AUTO;
  cfg.threads = 1;

  CHECK(vmaf_dnn_available() == 1);
  CHECK(vmaf_dnn_session_open(NULL, model, &cfg) == -EINVAL);
  CHECK(vmaf_dnn_session_open(&none, NULL, &cfg) == -EINVAL);
  CHECK(vmaf_dnn_session_open(&none, "/nonexistent/model.onnx", &cfg) == -ENOENT);
  CHECK(vmaf_dnn_session_open(&s, model, &cfg) == 0);
  if (s == NULL) return 1;
  CHECK(vmaf_dnn_session_attached_ep(s) != NULL &&
        strncmp(vmaf_dnn_session_attached_ep(s), "tinyqat-cpu", 11) == 0);
  CHECK(vmaf_dnn_session_attached_ep(NULL) == NULL);

  CHECK(vmaf_dnn_session_run_luma8(s, in8, 16, 16, 12, out8, 16) == 0);
  CHECK(vmaf_dnn_session_run_luma8(NULL, in8, 16, 16, 12, out8, 16) == -EINVAL);
  CHECK(vmaf_dnn_session_run_luma8(s, NULL, 16, 16, 12, out8, 16) == -EINVAL);
  CHECK(vmaf_dnn_session_run_luma8(s, in8, 16, 0, 12, out8, 16) == -ERANGE);
  CHECK(vmaf_dnn_session_run_plane16(s, in16, 32, 16, 12, 10, out16, 32) == 0);
  CHECK(vmaf_dnn_session_run_plane16(s, in16, 32, 16, 12, 7, out16, 32) == -EINVAL);
  CHECK(vmaf_dnn_session_run_plane16(s, in16, 32, 16, 12, 10, NULL, 32) == -EINVAL);

  in.name = "degraded";
  in.data = x;
  in.shape = shape;
  in.rank = 4;
  out.name = "filtered";
  out.data = small;
  out.capacity = 4;
  out.written = 0;
  CHECK(vmaf_dnn_session_run(s, &in, 1, &out, 1) == -ENOSPC);
  CHECK(out.written == 16 * 12);
  out.data = y;
  out.capacity = 16 * 12;
  CHECK(vmaf_dnn_session_run(s, &in, 1, &out, 1) == 0);
  CHECK(out.written == 16 * 12);
  /* luma8 is run() on x = in8 / 255, rounded back to 8 bits. */
  for (i = 0; i < 16 * 12; ++i) {
    float v = y[i] * 255.0f;
    int want = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f);
    if (out8[i] != want && out8[i] != want - 1) { /* half-even vs half-up at an exact .5 */
      CHECK(out8[i] == want);
      break;
    }
  }
  CHECK(vmaf_dnn_session_run(s, &in, 2, &out, 1) == -EINVAL);
  CHECK(vmaf_dnn_session_run(NULL, &in, 1, &out, 1) == -EINVAL);
  in.name = "not-an-input";
  CHECK(vmaf_dnn_session_run(s, &in, 1, &out, 1) == -EINVAL);

  CHECK(vmaf_dnn_verify_signature(NULL, NULL) == -EINVAL);
  CHECK(vmaf_dnn_verify_signature("/nonexistent/model.onnx", NULL) == -ENOENT);
  vmaf_dnn_session_close(s);
  vmaf_dnn_session_close(NULL);
  printf("ok: every entry point\n");
  return failures == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "layout") == 0) {
    layout();
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "run") == 0) return run(argv[2]);
  fprintf(stderr, "usage: vmafdnn_abi layout | run FILTER.onnx\n");
  return 2;
}
