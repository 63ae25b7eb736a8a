// Image planes ↔ the float tensor a plane model takes: samples scaled to [0, 1] by the bit depth's
// maximum, then standardised with the sidecar's mean/std; back the other way, rounded half to even
// (nearbyint in the default rounding mode) and clamped, NaN to 0. Strides are in bytes.
#include <cmath>
#include <cstring>

#include "vmafdnn/vmafdnn.h"

namespace tinyqat::vmafdnn {

namespace {

template <typename T>
void to_float(const T* in, size_t stride, int w, int h, float max_value, Norm n, float* dst) {
  const float scale = 1.f / max_value, inv_std = 1.f / n.std;
  for (int y = 0; y < h; ++y) {
    const T* row = reinterpret_cast<const T*>(reinterpret_cast<const uint8_t*>(in) + size_t(y) * stride);
    float* o = dst + size_t(y) * size_t(w);
    for (int x = 0; x < w; ++x) o[x] = (float(row[x]) * scale - n.mean) * inv_std;
  }
}

template <typename T>
void from_float(const float* src, int w, int h, float max_value, Norm n, T* out, size_t stride) {
  for (int y = 0; y < h; ++y) {
    T* row = reinterpret_cast<T*>(reinterpret_cast<uint8_t*>(out) + size_t(y) * stride);
    const float* s = src + size_t(y) * size_t(w);
    for (int x = 0; x < w; ++x) {
      const float v = std::nearbyint((s[x] * n.std + n.mean) * max_value);
      row[x] = !(v > 0.f) ? T(0) : v >= max_value ? T(max_value) : T(v);
    }
  }
}

float max_of(int bpc) {
  return float((1u << bpc) - 1u);
}

}  // namespace

void plane8_to_float(const uint8_t* in, size_t stride, int w, int h, Norm n, float* dst) {
  to_float(in, stride, w, h, 255.f, n, dst);
}
void plane16_to_float(const uint16_t* in, size_t stride, int w, int h, int bpc, Norm n, float* dst) {
  to_float(in, stride, w, h, max_of(bpc), n, dst);
}
void float_to_plane8(const float* src, int w, int h, Norm n, uint8_t* out, size_t stride) {
  from_float(src, w, h, 255.f, n, out, stride);
}
void float_to_plane16(const float* src, int w, int h, int bpc, Norm n, uint16_t* out, size_t stride) {
  from_float(src, w, h, max_of(bpc), n, out, stride);
}

}  // namespace tinyqat::vmafdnn
