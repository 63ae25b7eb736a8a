// XNNPACK (Debian libxnnpack-dev, snapshot 2022-02-16) int8 convolution on the two shapes, NHWC (its only
// layout), 1 thread (no pthreadpool). That snapshot has no u8×s8 operator: qu8 (uint8 activations and
// uint8 weights with zero point 128: the same products) and qs8 (int8 × int8) are timed.
#include <xnnpack.h>

#include "common.h"

int main() {
  if (xnn_initialize(nullptr) != xnn_status_success) {
    std::printf("xnn_initialize failed\n");
    return 1;
  }
  for (const Shape& s : kShapes) {
    auto x = lcg_bytes(size_t(s.C) * s.H * s.W, 1, 0, 255);
    auto w = lcg_bytes(size_t(s.M) * s.C * s.K * s.K, 2, 1, 255);
    std::vector<int32_t> bias(s.M, 100);
    std::vector<uint8_t> y(size_t(s.M) * s.H * s.W);
    for (bool signed_ops : {false, true}) {
      xnn_operator_t op = nullptr;
      xnn_status st;
      if (!signed_ops)
        st = xnn_create_convolution2d_nhwc_qu8(s.pad, s.pad, s.pad, s.pad, s.K, s.K, 1, 1, 1, 1, 1, s.C, s.M,
                                               s.C, s.M, 3, 0.02f, 128, 0.01f, w.data(), bias.data(), 5, 0.3f,
                                               0, 255, 0, &op);
      else
        st = xnn_create_convolution2d_nhwc_qs8(
            s.pad, s.pad, s.pad, s.pad, s.K, s.K, 1, 1, 1, 1, 1, s.C, s.M, s.C, s.M, 3, 0.02f, 0.01f,
            reinterpret_cast<const int8_t*>(w.data()), bias.data(), 5, 0.3f, -128, 127, 0, &op);
      if (st != xnn_status_success) {
        std::printf("# XNNPACK %s: create failed (%d)\n", s.name, int(st));
        continue;
      }
      if (!signed_ops)
        st = xnn_setup_convolution2d_nhwc_qu8(op, 1, s.H, s.W, x.data(), y.data(), nullptr);
      else
        st = xnn_setup_convolution2d_nhwc_qs8(op, 1, s.H, s.W, reinterpret_cast<const int8_t*>(x.data()),
                                              reinterpret_cast<int8_t*>(y.data()), nullptr);
      if (st != xnn_status_success) {
        std::printf("# XNNPACK %s: setup failed (%d)\n", s.name, int(st));
        continue;
      }
      report(signed_ops ? "XNNPACK qs8 (NHWC)" : "XNNPACK qu8 (NHWC)", s,
             time_ms([&] { xnn_run_operator(op, nullptr); }));
      xnn_delete_operator(op);
    }
  }
}
