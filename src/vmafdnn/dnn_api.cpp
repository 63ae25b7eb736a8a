// The C entry points of include/tinyqat/vmaf_dnn.h: argument checks in the fork's order, then the
// session. Nothing throws across the boundary: a Refusal is its errno, any other exception -EIO (or
// -ENOMEM). Runs are thread-safe (the executor is; scratch tensors are per call).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "core/tensor.h"
#include "runtime/executor.h"
#include "vmafdnn/vmafdnn.h"

using tinyqat::DType;
using tinyqat::Tensor;
using tinyqat::vmafdnn::Norm;
using tinyqat::vmafdnn::Refusal;

namespace {

// Runs `f`, turning exceptions into negative errnos.
template <typename F>
int guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const Refusal& r) {
    return r.err;
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;
  }
}

// The checks the plane entry points share, in the fork's order after the NULL checks.
int check_plane(const VmafDnnSession& s, int w, int h, size_t in_stride, size_t out_stride, size_t sample) {
  if (!s.plane_model) return -ENOTSUP;
  if (w <= 0 || h <= 0 || (s.plane_w >= 0 && w != s.plane_w) || (s.plane_h >= 0 && h != s.plane_h))
    return -ERANGE;
  if (int64_t(w) * int64_t(h) > (int64_t(1) << 28)) return -ERANGE;
  if (in_stride < size_t(w) * sample || out_stride < size_t(w) * sample) return -EINVAL;
  if (in_stride % sample != 0 || out_stride % sample != 0) return -EINVAL;
  return 0;
}

// The plane through the model: `fill` writes the input tensor, `drain` reads the output.
template <typename Fill, typename Drain>
int run_plane(VmafDnnSession& s, int w, int h, Fill fill, Drain drain) {
  Tensor in = Tensor::empty(DType::F32, {1, 1, h, w});
  fill(in.data<float>());
  std::vector<Tensor> out;
  try {
    const std::vector<std::pair<std::string, Tensor>> feed{{s.input_names[0], std::move(in)}};
    if (s.recorder) s.recorder->add(feed);
    out = s.exec->run(feed);
  } catch (const tinyqat::Error&) {
    return -ERANGE;  // the graph does not take this size (the runtime names why)
  }
  if (out.size() != 1 || out[0].dtype() != DType::F32 || out[0].numel() != int64_t(w) * int64_t(h))
    return -ENOTSUP;
  drain(out[0].data<float>());
  return 0;
}

}  // namespace

extern "C" {

int vmaf_dnn_available(void) {
  return 1;
}

int vmaf_dnn_session_open(VmafDnnSession** out, const char* onnx_path, const VmafDnnConfig* cfg) {
  if (out == nullptr || onnx_path == nullptr) return -EINVAL;
  *out = nullptr;
  return guarded([&] {
    *out = tinyqat::vmafdnn::open_session(onnx_path, cfg).release();
    return 0;
  });
}

int vmaf_dnn_session_run_luma8(VmafDnnSession* sess, const uint8_t* in, size_t in_stride, int w, int h,
                               uint8_t* out, size_t out_stride) {
  if (sess == nullptr || in == nullptr || out == nullptr) return -EINVAL;
  if (int rc = check_plane(*sess, w, h, in_stride, out_stride, 1)) return rc;
  const Norm n = tinyqat::vmafdnn::norm_of(sess->meta);
  return guarded([&] {
    return run_plane(
        *sess, w, h, [&](float* t) { tinyqat::vmafdnn::plane8_to_float(in, in_stride, w, h, n, t); },
        [&](const float* t) { tinyqat::vmafdnn::float_to_plane8(t, w, h, n, out, out_stride); });
  });
}

int vmaf_dnn_session_run_plane16(VmafDnnSession* sess, const uint16_t* in, size_t in_stride, int w, int h,
                                 int bpc, uint16_t* out, size_t out_stride) {
  if (sess == nullptr || in == nullptr || out == nullptr) return -EINVAL;
  if (bpc < 9 || bpc > 16) return -EINVAL;
  if (int rc = check_plane(*sess, w, h, in_stride, out_stride, 2)) return rc;
  const Norm n = tinyqat::vmafdnn::norm_of(sess->meta);
  return guarded([&] {
    return run_plane(
        *sess, w, h, [&](float* t) { tinyqat::vmafdnn::plane16_to_float(in, in_stride, w, h, bpc, n, t); },
        [&](const float* t) { tinyqat::vmafdnn::float_to_plane16(t, w, h, bpc, n, out, out_stride); });
  });
}

int vmaf_dnn_session_run(VmafDnnSession* sess, const VmafDnnInput* inputs, size_t n_inputs,
                         VmafDnnOutput* outputs, size_t n_outputs) {
  if (sess == nullptr || inputs == nullptr || outputs == nullptr || n_inputs == 0 || n_outputs == 0)
    return -EINVAL;
  if (n_inputs != sess->input_names.size() || n_outputs != sess->output_names.size()) return -EINVAL;
  return guarded([&]() -> int {
    // Bind: by name when given, else by position.
    auto index_of = [](const std::vector<std::string>& names, const char* name, size_t pos) -> long {
      if (name == nullptr) return long(pos);
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return long(i);
      return -1;
    };
    std::vector<std::pair<std::string, Tensor>> feed;
    std::vector<bool> bound(n_inputs, false);
    for (size_t i = 0; i < n_inputs; ++i) {
      const VmafDnnInput& t = inputs[i];
      const long k = index_of(sess->input_names, t.name, i);
      if (k < 0 || bound[size_t(k)]) return -EINVAL;
      bound[size_t(k)] = true;
      if (t.rank > 8 || (t.rank > 0 && t.shape == nullptr)) return -EINVAL;
      tinyqat::Shape shape(t.shape, t.shape + t.rank);
      int64_t n = 1;
      for (int64_t d : shape) {
        if (d < 0 || (d > 0 && n > (int64_t(1) << 40) / d)) return -EINVAL;
        n *= d;
      }
      if (n > 0 && t.data == nullptr) return -EINVAL;
      Tensor x = Tensor::empty(DType::F32, shape);
      if (n > 0) std::memcpy(x.data<float>(), t.data, size_t(n) * sizeof(float));
      feed.emplace_back(sess->input_names[size_t(k)], std::move(x));
    }
    std::vector<long> slot(n_outputs);
    for (size_t i = 0; i < n_outputs; ++i) {
      slot[i] = index_of(sess->output_names, outputs[i].name, i);
      if (slot[i] < 0) return -EINVAL;
      if (outputs[i].capacity > 0 && outputs[i].data == nullptr) return -EINVAL;
      outputs[i].written = 0;
    }
    std::vector<Tensor> got;
    if (sess->recorder) sess->recorder->add(feed);
    try {
      got = sess->exec->run(feed);
    } catch (const tinyqat::Error&) {
      return -EIO;
    }
    int rc = 0;
    for (size_t i = 0; i < n_outputs; ++i) {
      const Tensor& t = got[size_t(slot[i])];
      if (t.dtype() != DType::F32) return -ENOTSUP;
      outputs[i].written = size_t(t.numel());
      if (outputs[i].capacity < size_t(t.numel())) {
        rc = -ENOSPC;
        continue;
      }
      if (t.numel() > 0) std::memcpy(outputs[i].data, t.data<float>(), size_t(t.numel()) * sizeof(float));
    }
    return rc;
  });
}

void vmaf_dnn_session_close(VmafDnnSession* sess) {
  delete sess;  // a recording session writes its file (~VmafDnnSession)
}

const char* vmaf_dnn_session_attached_ep(VmafDnnSession* sess) {
  return sess == nullptr ? nullptr : sess->ep.c_str();
}

}  // extern "C"
