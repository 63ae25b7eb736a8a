// Our int8 kernels (src/runtime/kernels/qgemm.h) on the two shapes: u8 activations, s8 weights,
// requantised u8 output, 1 thread. Every variant this CPU can run.
#include <cstring>

#include "common.h"
#include "runtime/kernels/cpu_features.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qgemm.h"

using namespace tinyqat;

int main(int argc, char** argv) {
  ThreadPool pool(1);
  __builtin_cpu_init();
  for (const Shape& s : kShapes) {
    ConvGeometry g;
    g.C = s.C, g.H = s.H, g.W = s.W, g.KH = g.KW = s.K, g.PT = g.PL = s.pad, g.OH = s.H, g.OW = s.W;
    auto x = lcg_bytes(size_t(s.C) * s.H * s.W, 1, 0, 255);
    auto w = lcg_bytes(size_t(s.M) * s.C * s.K * s.K, 2, 0, 254);
    for (auto& b : w) b = static_cast<uint8_t>(int8_t(int(b) - 127));
    std::vector<uint8_t> y(size_t(s.M) * s.H * s.W);
    QRequant rq;
    rq.mult.assign(s.M, 0.0009f);
    rq.zp = 3;
    for (const QGemmKernel* k : qgemm_kernels_all()) {
      bool ok = true;
      if (std::strstr(k->name, "vnni"))
        ok = __builtin_cpu_supports("avx512vnni");
      else if (std::strstr(k->name, "avx512"))
        ok = __builtin_cpu_supports("avx512bw");
      else if (std::strstr(k->name, "avx2"))
        ok = __builtin_cpu_supports("avx2");
      if (!ok) continue;
      QConvWeights pw = qpack_conv_weights(*k, w.data(), true, s.M, s.C, s.K, s.K, 1, {0});
      QConvArgs a;
      a.kernel = k;
      a.g = &g;
      a.M = s.M;
      a.x = x.data();
      a.w = w.data();
      a.wzp = {0};
      a.packed = &pw;
      a.rq = &rq;
      a.y = y.data();
      double ms = time_ms([&] { qconv(a, pool); }, argc > 1 ? std::atoi(argv[1]) : 50);
      char who[64];
      std::snprintf(who, sizeof who, "tinyqat %s", k->name);
      report(who, s, ms);
    }
  }
}
