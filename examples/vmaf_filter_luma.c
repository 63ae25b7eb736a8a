/* Filters the luma frames of a raw 8-bit file through a model with libvmaf's DNN API, as a libvmaf
 * consumer would (the same source builds against the fork's libvmaf/dnn.h; link -ltinyqat_vmafdnn).
 *
 *   vmaf_filter_luma MODEL.onnx IN.y OUT.y WIDTH HEIGHT [THREADS]
 *
 * IN.y holds whole WIDTH×HEIGHT 8-bit planes back to back; OUT.y receives the filtered planes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinyqat/vmaf_dnn.h>

static int fail(const char* what, const char* path, int rc) {
  fprintf(stderr, "vmaf_filter_luma: %s: %s: %s\n", path, what, strerror(rc < 0 ? -rc : rc));
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 6 || argc > 7) {
    fprintf(stderr, "usage: vmaf_filter_luma MODEL.onnx IN.y OUT.y WIDTH HEIGHT [THREADS]\n");
    return 2;
  }
  const int w = atoi(argv[4]), h = atoi(argv[5]);
  if (w <= 0 || h <= 0) return fail("bad frame size", argv[4], EINVAL);
  VmafDnnConfig cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.device = VMAF_DNN_DEVICE_CPU;
  cfg.threads = argc == 7 ? atoi(argv[6]) : 1;

  VmafDnnSession* sess = NULL;
  int rc = vmaf_dnn_session_open(&sess, argv[1], &cfg);
  if (rc < 0) return fail("cannot open the model", argv[1], rc);
  printf("runs on: %s\n", vmaf_dnn_session_attached_ep(sess));

  FILE* in = fopen(argv[2], "rb");
  FILE* out = fopen(argv[3], "wb");
  const size_t n = (size_t)w * (size_t)h;
  unsigned char* src = malloc(n);
  unsigned char* dst = malloc(n);
  int status = 0;
  long frames = 0;
  if (!in || !out || !src || !dst) {
    status = fail("cannot open", !in ? argv[2] : argv[3], errno);
  } else {
    size_t got;
    while ((got = fread(src, 1, n, in)) == n) {
      rc = vmaf_dnn_session_run_luma8(sess, src, (size_t)w, w, h, dst, (size_t)w);
      if (rc < 0) {
        status = fail("run failed", argv[1], rc);
        break;
      }
      if (fwrite(dst, 1, n, out) != n) {
        status = fail("cannot write", argv[3], errno);
        break;
      }
      ++frames;
    }
    if (status == 0 && got != 0) status = fail("not a whole number of frames", argv[2], EINVAL);
  }
  if (status == 0) printf("filtered %ld frame(s) of %dx%d\n", frames, w, h);
  free(src);
  free(dst);
  if (in) fclose(in);
  if (out && fclose(out) != 0 && status == 0) status = fail("cannot write", argv[3], errno);
  vmaf_dnn_session_close(sess);
  return status;
}
