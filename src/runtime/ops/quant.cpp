// Quantized operators by their ONNX definitions: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul. Products are summed exactly in int32.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/numerics.h"
#include "ir/op_math.h"
#include "runtime/kernel.h"
#include "runtime/kernels/igemm_ref.h"
#include "runtime/ops/conv_common.h"

namespace tinyqat {
namespace {

struct QRange {
  int32_t lo, hi;
};
QRange qrange(DType t, const Node& n) {
  switch (t) {
    case DType::I8:
      return {-128, 127};
    case DType::U8:
      return {0, 255};
    case DType::I32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default:
      fail("{}: quantized type must be int8, uint8 or int32, got {}", n.describe(), dtype_name(t));
  }
}

int32_t int_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::I8:
      return t.data<int8_t>()[i];
    case DType::U8:
      return t.data<uint8_t>()[i];
    case DType::I32:
      return t.data<int32_t>()[i];
    default:
      return 0;
  }
}

void set_int(Tensor& t, int64_t i, int32_t v) {
  switch (t.dtype()) {
    case DType::I8:
      t.data<int8_t>()[i] = static_cast<int8_t>(v);
      break;
    case DType::U8:
      t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
      break;
    case DType::I32:
      t.data<int32_t>()[i] = v;
      break;
    default:
      break;
  }
}

// Per-tensor or per-axis parameters of Quantize/DequantizeLinear: element i uses index (i / inner) % len.
struct AxisParams {
  int64_t len = 1, inner = 1;
  int64_t at(int64_t i) const { return len == 1 ? 0 : (i / inner) % len; }
};
AxisParams axis_params(const Node& n, const Tensor& x, const Tensor& scale, int64_t axis_attr) {
  AxisParams p;
  if (scale.numel() == 1 && scale.rank() <= 1) return p;
  TQ_CHECK(scale.rank() == 1, "{}: scale must be a scalar or 1-D", n.describe());
  int64_t axis = normalize_axis(axis_attr, x.rank(), n.describe());
  TQ_CHECK(x.dim(static_cast<int>(axis)) == scale.numel(), "{}: {} scales for axis {} of size {}",
           n.describe(), scale.numel(), axis, x.dim(static_cast<int>(axis)));
  p.len = scale.numel();
  for (int i = static_cast<int>(axis) + 1; i < x.rank(); ++i) p.inner *= x.dim(i);
  return p;
}

std::vector<int32_t> zero_points(const Tensor* zp, int64_t n_expected, const Node& node, const char* what) {
  if (!zp) return std::vector<int32_t>(std::max<int64_t>(n_expected, 1), 0);
  TQ_CHECK(zp->numel() == 1 || zp->numel() == n_expected, "{}: {} has {} values (expected 1 or {})",
           node.describe(), what, zp->numel(), n_expected);
  std::vector<int32_t> v(zp->numel());
  for (int64_t i = 0; i < zp->numel(); ++i) v[i] = int_at(*zp, i);
  return v;
}

std::vector<float> floats_of(const Tensor& t, const Node& n, const char* what) {
  expect_dtype(n, t, DType::F32, what);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Integer convolution shared by ConvInteger and QLinearConv: acc[n, m, p] in int32.
Tensor conv_integer_acc(RunContext& ctx, const Node& n, const Tensor& x, const Tensor& w, int32_t xzp,
                        const std::vector<int32_t>& wzp, ConvSpec* spec_out) {
  TQ_CHECK(x.dtype() == DType::U8 || x.dtype() == DType::I8, "{}: input must be uint8 or int8", n.describe());
  TQ_CHECK(w.dtype() == DType::U8 || w.dtype() == DType::I8, "{}: weight must be uint8 or int8",
           n.describe());
  ConvSpec s = conv_spec(n, x.shape(), w.shape());
  *spec_out = s;
  const ConvGeometry& g = s.g;
  const int64_t mg = s.M / s.group, K = g.K(), P = g.P();
  TQ_CHECK(wzp.size() == 1 || static_cast<int64_t>(wzp.size()) == s.M,
           "{}: weight zero point must have 1 or {} values", n.describe(), s.M);
  Shape ys = x.rank() == 3 ? Shape{s.N, s.M, g.OW} : Shape{s.N, s.M, g.OH, g.OW};
  Tensor acc = Tensor::empty(DType::I32, ys);
  // Weights minus their zero points, widened once.
  std::vector<int16_t> wq(static_cast<size_t>(s.M * K));
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t k = 0; k < K; ++k)
      wq[m * K + k] = static_cast<int16_t>(int_at(w, m * K + k) - wzp[wzp.size() == 1 ? 0 : m]);
  constexpr int64_t kStrip = 64;
  const int64_t strips = (P + kStrip - 1) / kStrip;
  for (int64_t nb = 0; nb < s.N; ++nb)
    for (int64_t gi = 0; gi < s.group; ++gi) {
      const int64_t plane = g.C * g.H * g.W;
      const int64_t xoff = (nb * s.Cin + gi * g.C) * g.H * g.W;
      int32_t* yg = acc.data<int32_t>() + (nb * s.M + gi * mg) * P;
      ctx.pool.parallel_for(strips, [&](int64_t b, int64_t e, int) {
        std::vector<int16_t> xs(static_cast<size_t>(plane));
        std::vector<int16_t> col(static_cast<size_t>(K * kStrip));
        std::vector<int32_t> tile(static_cast<size_t>(mg * kStrip));
        for (int64_t i = 0; i < plane; ++i) xs[i] = static_cast<int16_t>(int_at(x, xoff + i) - xzp);
        for (int64_t st = b; st < e; ++st) {
          const int64_t p0 = st * kStrip, cols = std::min(kStrip, P - p0);
          im2col_pack<int16_t>(g, xs.data(), p0, cols, static_cast<int>(kStrip), col.data(), int16_t(0));
          igemm_s16_ref(mg, kStrip, K, wq.data() + gi * mg * K, col.data(), kStrip, tile.data(), kStrip);
          for (int64_t m = 0; m < mg; ++m)
            std::copy(&tile[m * kStrip], &tile[m * kStrip] + cols, yg + m * P + p0);
        }
      });
    }
  return acc;
}

// Integer matmul shared by MatMulInteger and QLinearMatMul: A [..., M, K] × B [K, N] → int32 [..., M, N].
Tensor matmul_integer_acc(const Node& n, const Tensor& a, const Tensor& b, const std::vector<int32_t>& azp,
                          const std::vector<int32_t>& bzp) {
  TQ_CHECK(a.rank() >= 2 && b.rank() == 2, "{}: only A of rank ≥ 2 times a 2-D B is supported (got {} × {})",
           n.describe(), shape_str(a.shape()), shape_str(b.shape()));
  const int64_t K = a.dim(-1), N = b.dim(1), M = a.numel() / std::max<int64_t>(K, 1);
  TQ_CHECK(b.dim(0) == K, "{}: inner dimensions differ: {} × {}", n.describe(), shape_str(a.shape()),
           shape_str(b.shape()));
  TQ_CHECK(azp.size() == 1, "{}: A's zero point must be per-tensor", n.describe());
  TQ_CHECK(bzp.size() == 1 || static_cast<int64_t>(bzp.size()) == N,
           "{}: B's zero point must have 1 or {} values", n.describe(), N);
  std::vector<int16_t> aq(static_cast<size_t>(M * K)), bq(static_cast<size_t>(K * N));
  for (int64_t i = 0; i < M * K; ++i) aq[i] = static_cast<int16_t>(int_at(a, i) - azp[0]);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j)
      bq[k * N + j] = static_cast<int16_t>(int_at(b, k * N + j) - bzp[bzp.size() == 1 ? 0 : j]);
  Shape ys = a.shape();
  ys.back() = N;
  Tensor acc = Tensor::empty(DType::I32, ys);
  igemm_s16_ref(M, N, K, aq.data(), bq.data(), N, acc.data<int32_t>(), N);
  return acc;
}

// y = requantize(acc + bias[c]) with a per-channel multiplier; channel c = (i / inner) % channels.
void requantize_into(const Tensor& acc, const std::vector<float>& mult, const Tensor* bias, int64_t channels,
                     int64_t inner, Tensor& y, int32_t yzp, QRange r) {
  const int32_t* a = acc.data<int32_t>();
  for (int64_t i = 0; i < acc.numel(); ++i) {
    int64_t c = (i / inner) % channels;
    int32_t v = a[i] + (bias ? bias->data<int32_t>()[c] : 0);
    set_int(y, i, requantize(v, mult[mult.size() == 1 ? 0 : c], yzp, r.lo, r.hi));
  }
}

}  // namespace

void register_quant_ops(KernelRegistry& r) {
  r["QuantizeLinear"] = [](const KernelInit& init) {
    const Node& n = init.node;
    int64_t axis = n.get_int("axis", 1);
    return make_kernel(
        [&n, axis](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
          const Tensor& x = *in[0];
          expect_dtype(n, x, DType::F32, "input");
          auto scale = floats_of(*in[1], n, "y_scale");
          const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
          DType t = zp ? zp->dtype() : DType::U8;
          QRange qr = qrange(t, n);
          AxisParams ap = axis_params(n, x, *in[1], axis);
          auto zps = zero_points(zp, ap.len, n, "y_zero_point");
          for (float s : scale)
            TQ_CHECK(s > 0 && std::isfinite(s), "{}: scale must be positive and finite", n.describe());
          out[0] = Tensor::empty(t, x.shape());
          const float* xp = x.data<float>();
          for (int64_t i = 0; i < x.numel(); ++i) {
            int64_t c = ap.at(i);
            set_int(out[0], i, quantize_value(xp[i], scale[c], zps[zps.size() == 1 ? 0 : c], qr.lo, qr.hi));
          }
        });
  };
  r["DequantizeLinear"] = [](const KernelInit& init) {
    const Node& n = init.node;
    int64_t axis = n.get_int("axis", 1);
    return make_kernel(
        [&n, axis](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
          const Tensor& x = *in[0];
          qrange(x.dtype(), n);
          auto scale = floats_of(*in[1], n, "x_scale");
          const Tensor* zp = in.size() > 2 ? in[2] : nullptr;
          if (zp)
            TQ_CHECK(zp->dtype() == x.dtype(), "{}: zero point type differs from the input's", n.describe());
          AxisParams ap = axis_params(n, x, *in[1], axis);
          auto zps = zero_points(zp, ap.len, n, "x_zero_point");
          out[0] = Tensor::empty(DType::F32, x.shape());
          float* yp = out[0].data<float>();
          for (int64_t i = 0; i < x.numel(); ++i) {
            int64_t c = ap.at(i);
            yp[i] = dequantize_value(int_at(x, i), scale[c], zps[zps.size() == 1 ? 0 : c]);
          }
        });
  };
  r["DynamicQuantizeLinear"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor& x = *in[0];
      expect_dtype(n, x, DType::F32, "input");
      const float* xp = x.data<float>();
      float lo = 0.f, hi = 0.f;  // the range always includes 0
      for (int64_t i = 0; i < x.numel(); ++i) {
        lo = std::min(lo, xp[i]);
        hi = std::max(hi, xp[i]);
      }
      float scale = hi == lo ? 1.f : (hi - lo) / 255.f;  // a degenerate range still gets a positive scale
      float zpf = std::min(255.f, std::max(0.f, 0.f - lo / scale));
      int32_t zp = static_cast<int32_t>(round_half_even(zpf));
      out[0] = Tensor::empty(DType::U8, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i)
        out[0].data<uint8_t>()[i] = static_cast<uint8_t>(quantize_value(xp[i], scale, zp, 0, 255));
      out[1] = Tensor::scalar_f32(scale);
      out[2] = Tensor::empty(DType::U8, {});
      out[2].data<uint8_t>()[0] = static_cast<uint8_t>(zp);
    });
  };
  r["ConvInteger"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor* xzp = in.size() > 2 ? in[2] : nullptr;
      const Tensor* wzp = in.size() > 3 ? in[3] : nullptr;
      TQ_CHECK(!xzp || xzp->numel() == 1, "{}: x_zero_point must be a scalar", n.describe());
      ConvSpec s;
      out[0] = conv_integer_acc(ctx, n, *in[0], *in[1], xzp ? int_at(*xzp, 0) : 0,
                                zero_points(wzp, in[1]->dim(0), n, "w_zero_point"), &s);
    });
  };
  r["QLinearConv"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      for (int i = 0; i < 8; ++i)
        TQ_CHECK(in.size() > static_cast<size_t>(i) && in[i], "{}: input {} is required", n.describe(), i);
      const Tensor& w = *in[3];
      float xs = floats_of(*in[1], n, "x_scale").at(0), ys = floats_of(*in[6], n, "y_scale").at(0);
      auto ws = floats_of(*in[4], n, "w_scale");
      ConvSpec s;
      Tensor acc = conv_integer_acc(ctx, n, *in[0], w, int_at(*in[2], 0),
                                    zero_points(in[5], w.dim(0), n, "w_zero_point"), &s);
      const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
      if (bias)
        TQ_CHECK(bias->dtype() == DType::I32 && bias->numel() == s.M, "{}: B must be int32[{}]", n.describe(),
                 s.M);
      TQ_CHECK(ws.size() == 1 || static_cast<int64_t>(ws.size()) == s.M,
               "{}: w_scale must have 1 or {} values", n.describe(), s.M);
      std::vector<float> mult(ws.size());
      for (size_t c = 0; c < ws.size(); ++c) mult[c] = xs * ws[c] / ys;
      out[0] = Tensor::empty(in[7]->dtype(), acc.shape());
      requantize_into(acc, mult, bias, s.M, s.g.P(), out[0], int_at(*in[7], 0), qrange(in[7]->dtype(), n));
    });
  };
  r["MatMulInteger"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor *azp = in.size() > 2 ? in[2] : nullptr, *bzp = in.size() > 3 ? in[3] : nullptr;
      out[0] = matmul_integer_acc(n, *in[0], *in[1], zero_points(azp, 1, n, "a_zero_point"),
                                  zero_points(bzp, in[1]->dim(-1), n, "b_zero_point"));
    });
  };
  r["QLinearMatMul"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      for (int i = 0; i < 8; ++i)
        TQ_CHECK(in.size() > static_cast<size_t>(i) && in[i], "{}: input {} is required", n.describe(), i);
      const Tensor& b = *in[3];
      float as = floats_of(*in[1], n, "a_scale").at(0), ys = floats_of(*in[6], n, "y_scale").at(0);
      auto bs = floats_of(*in[4], n, "b_scale");
      Tensor acc = matmul_integer_acc(n, *in[0], b, zero_points(in[2], 1, n, "a_zero_point"),
                                      zero_points(in[5], b.dim(-1), n, "b_zero_point"));
      const int64_t N = b.dim(-1);
      TQ_CHECK(bs.size() == 1 || static_cast<int64_t>(bs.size()) == N, "{}: b_scale must have 1 or {} values",
               n.describe(), N);
      std::vector<float> mult(bs.size());
      for (size_t c = 0; c < bs.size(); ++c) mult[c] = as * bs[c] / ys;
      out[0] = Tensor::empty(in[7]->dtype(), acc.shape());
      requantize_into(acc, mult, nullptr, N, 1, out[0], int_at(*in[7], 0), qrange(in[7]->dtype(), n));
    });
  };
}

}  // namespace tinyqat
