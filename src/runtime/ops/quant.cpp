// Quantized operators by their ONNX definitions: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul. Products are summed exactly in int32 by the
// int8 kernels (kernels/qgemm.h; decision 0002); element-wise loops run per ISA (QElementwise).
// Runtime-internal extensions made by fuse_qdq.cpp: QLinearMatMul's 9th input (int32 bias), the fused
// activation attributes (fuse.h), and QLinearConv / QLinearMatMul without y_scale / y_zero_point, which
// write float: float(exact int32 sum with bias) · x_s·w_s[c], clamped to the fused activation.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/numerics.h"
#include "ir/op_math.h"
#include "runtime/fuse.h"
#include "runtime/kernel.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qgemm.h"
#include "runtime/ops/conv_common.h"
#include "runtime/ops/quant_params.h"

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

}  // namespace

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

namespace {

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

}  // namespace

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

float scalar_of(const Tensor& t, const Node& n, const char* what) {
  expect_dtype(n, t, DType::F32, what);
  TQ_CHECK(t.numel() == 1, "{}: {} must hold one value, not {}", n.describe(), what, t.numel());
  return t.data<float>()[0];
}

namespace {

// Runs f(begin, count, channel) over the tensor in blocks that share one quantization parameter set:
// per-tensor tensors in chunks, per-axis tensors in runs of `inner` elements. Blocks go to the pool.
template <typename F>
void for_blocks(RunContext& ctx, int64_t numel, const AxisParams& ap, F&& f) {
  constexpr int64_t kChunk = int64_t(1) << 15;
  const double work_ns = work::bytes(5.0 * static_cast<double>(numel));  // float ↔ 8-bit
  if (ap.len == 1) {
    const int64_t chunks = (numel + kChunk - 1) / kChunk;
    ctx.pool.parallel_for(chunks, {work_ns}, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) f(i * kChunk, std::min(kChunk, numel - i * kChunk), int64_t(0));
    });
    return;
  }
  const int64_t blocks = numel / std::max<int64_t>(ap.inner, 1);
  const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(ap.inner, 1));
  ctx.pool.parallel_for(blocks, {work_ns, grain}, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) f(i * ap.inner, ap.inner, i % ap.len);
  });
}

}  // namespace

QRequant make_requant(const Node& n, float xs, const std::vector<float>& ws, float ys, const Tensor& yzp,
                      float act_lo, float act_hi) {
  TQ_CHECK(yzp.dtype() == DType::U8 || yzp.dtype() == DType::I8,
           "{}: output zero point must be uint8 or int8", n.describe());
  TQ_CHECK(ys > 0 && std::isfinite(ys), "{}: y_scale must be positive and finite", n.describe());
  QRequant rq;
  for (float w : ws) rq.mult.push_back(xs * w / ys);
  QRange r = qrange(yzp.dtype(), n);
  rq.zp = int_at(yzp, 0);
  rq.out_s8 = yzp.dtype() == DType::I8;
  rq.qlo = std::max(r.lo, quantize_value(act_lo, ys, rq.zp, r.lo, r.hi));
  rq.qhi = std::min(r.hi, quantize_value(act_hi, ys, rq.zp, r.lo, r.hi));
  return rq;
}

bool is_int8(DType t) {
  return t == DType::U8 || t == DType::I8;
}

namespace {

// True when input i is absent or a constant (its value is then known when the kernel is created).
bool known_at_init(const KernelInit& init, size_t i) {
  return !init.node.input(i) || init.constant(i) != nullptr;
}

// The constant parameters of a QLinear* / *Integer node, read once when its kernel is created: the
// requantisation (QLinear*: x/y scales and zero points, weight scales and the int32 bias all constant
// and valid) and the unsigned input zero point. `ready` false: something is computed at run time or
// invalid, and run() reads (and checks) the parameters itself, as the operator definition allows.
struct ConstParams {
  bool ready = false;
  QRequant rq;                   // 8-bit output
  std::vector<float> out_scale;  // float output: x_s·w_s[c]
  Tensor bias;                   // int32 [channels], or none
  int64_t zxu = 0;               // for an input of the zero point's type
  const int32_t* bias_data() const { return bias.numel() > 0 ? bias.data<int32_t>() : nullptr; }
};

}  // namespace

std::vector<float> float_scales(float xs, const std::vector<float>& ws) {
  std::vector<float> r;
  for (float w : ws) r.push_back(xs * w);
  return r;
}

namespace {

// A QLinear* node without y_scale / y_zero_point (runtime-internal: the QDQ fusion's unit whose output
// stays float, qdq::float_heads): y = float(acc) · x_s·w_s[c], acc the exact int32 sum with the bias,
// clamped to the fused activation [lo, hi]. Element i is channel (i / inner) % channels.
void write_float(RunContext& ctx, const Tensor& acc, const std::vector<float>& scale, int64_t channels,
                 int64_t inner, float lo, float hi, Tensor& y) {
  const int32_t* a = acc.data<int32_t>();
  float* yp = y.data<float>();
  const int64_t blocks = acc.numel() / std::max<int64_t>(inner, 1);
  const ThreadPool::Cost cost{work::bytes(8.0 * static_cast<double>(acc.numel())),
                              std::max<int64_t>(1, 4096 / std::max<int64_t>(inner, 1))};
  ctx.pool.parallel_for(blocks, cost, [&](int64_t b, int64_t e, int) {
    for (int64_t k = b; k < e; ++k) {
      const float s = scale[scale.size() == 1 ? 0 : k % channels];
      for (int64_t i = k * inner; i < (k + 1) * inner; ++i)
        yp[i] = std::min(std::max(static_cast<float>(a[i]) * s, lo), hi);
    }
  });
}

ConstParams const_params(const KernelInit& init, bool qlinear, bool float_out, int64_t channels, float act_lo,
                         float act_hi) {
  ConstParams c;
  const size_t xzi = 2;
  const Tensor* xzp = init.constant(xzi);
  if (!known_at_init(init, xzi) || (qlinear && !xzp)) return c;
  if (xzp && (xzp->numel() != 1 || !is_int8(xzp->dtype()))) return c;
  c.zxu = xzp ? int_at(*xzp, 0) + (xzp->dtype() == DType::I8 ? 128 : 0) : 0;
  if (qlinear) {
    const Tensor *xs = init.constant(1), *ws = init.constant(4), *ys = init.constant(6),
                 *yzp = init.constant(7);
    auto is_f32 = [](const Tensor* t) { return t && t->dtype() == DType::F32 && t->numel() >= 1; };
    if (!is_f32(xs) || !is_f32(ws)) return c;
    if (ws->numel() != 1 && ws->numel() != channels) return c;
    if (init.node.input(8)) {
      const Tensor* b = init.constant(8);
      if (!b || b->dtype() != DType::I32 || b->numel() != channels) return c;
      c.bias = *b;  // shares the storage (the executor's constant slots may move while it is built)
    }
    if (float_out) {
      c.out_scale = float_scales(xs->data<float>()[0], floats_of(*ws, init.node, "w_scale"));
    } else {
      if (!is_f32(ys) || !yzp || !is_int8(yzp->dtype())) return c;
      const float y_scale = ys->data<float>()[0];
      if (!(y_scale > 0) || !std::isfinite(y_scale)) return c;
      c.rq = make_requant(init.node, xs->data<float>()[0], floats_of(*ws, init.node, "w_scale"), y_scale,
                          *yzp, act_lo, act_hi);
    }
  }
  c.ready = true;
  return c;
}

// QLinearConv (qlinear) and ConvInteger. Constant weights are packed once for this CPU's kernel, and
// with constant parameters the epilogue (bias, zero-point terms, multipliers) is built once too; each
// input shape gets a plan (geometry, path, layout) that runs of that shape reuse.
class QConvKernel : public Kernel {
 public:
  QConvKernel(const KernelInit& init, bool qlinear)
      : n_(init.node), qlinear_(qlinear), float_out_(qlinear && !init.node.input(6)) {
    act_lo_ = n_.get_float(kActMin, -std::numeric_limits<float>::infinity());
    act_hi_ = n_.get_float(kActMax, std::numeric_limits<float>::infinity());
    const size_t wi = qlinear ? 3 : 1, wzi = qlinear ? 5 : 3;
    const Tensor* w = init.constant(wi);
    const int64_t group = n_.get_int("group", 1);
    if (w && is_int8(w->dtype()) && w->rank() >= 3 && group >= 1 && w->dim(0) % group == 0 &&
        known_at_init(init, wzi)) {
      const Tensor* zp = init.constant(wzi);
      if (zp && zp->numel() != 1 && zp->numel() != w->dim(0)) return;  // run() reports it
      auto wzp = zero_points(zp, w->dim(0), n_, "w_zero_point");
      const int64_t KH = w->rank() == 4 ? w->dim(2) : 1;
      packed_ = qpack_conv_weights(qgemm_kernel(), w->raw(), w->dtype() == DType::I8, w->dim(0), w->dim(1),
                                   KH, w->dim(-1), group, wzp);
      has_packed_ = true;
      params_ = const_params(init, qlinear, float_out_, w->dim(0), act_lo_, act_hi_);
      if (params_.ready)
        epilogue_ = qconv_epilogue(packed_, w->dim(0), w->numel() / std::max<int64_t>(w->dim(0), 1),
                                   params_.zxu, params_.bias_data(), requantises() ? &params_.rq : nullptr);
    }
  }

  struct Plan : KernelPlan {
    ConvSpec spec;
    Shape y_shape;
    QConvPlan conv;  // for the packed weights
  };

  bool prepares() const override { return true; }

  std::shared_ptr<const KernelPlan> prepare(RunContext& ctx, const std::vector<const Tensor*>& in) override {
    const Node& n = n_;
    for (size_t i = 0; i < required_inputs(); ++i)
      TQ_CHECK(in.size() > i && in[i], "{}: input {} is required", n.describe(), i);
    const Tensor& x = *in[0];
    const Tensor& w = *in[qlinear_ ? 3 : 1];
    TQ_CHECK(is_int8(x.dtype()), "{}: input must be uint8 or int8", n.describe());
    TQ_CHECK(is_int8(w.dtype()), "{}: weight must be uint8 or int8", n.describe());
    auto p = std::make_shared<Plan>();
    p->spec = conv_spec(n, x.shape(), w.shape());
    const ConvSpec& s = p->spec;
    p->y_shape = x.rank() == 3 ? Shape{s.N, s.M, s.g.OW} : Shape{s.N, s.M, s.g.OH, s.g.OW};
    if (has_packed_) {
      QConvArgs a;
      a.g = &s.g;
      a.N = s.N, a.group = s.group, a.M = s.M;
      a.x_signed = x.dtype() == DType::I8;
      p->conv = qconv_plan(a, packed_, qgemm_kernel(), ctx.pool.size());
    }
    return p;
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Node& n = n_;
    std::shared_ptr<const KernelPlan> local;
    if (!ctx.plan) local = prepare(ctx, in);
    const Plan& plan = static_cast<const Plan&>(ctx.plan ? *ctx.plan : *local);
    const ConvSpec& s = plan.spec;
    const Tensor& x = *in[0];
    const Tensor& w = *in[qlinear_ ? 3 : 1];
    TQ_CHECK(is_int8(x.dtype()) && is_int8(w.dtype()), "{}: input and weight must be uint8 or int8",
             n.describe());
    const Tensor* xzp = qlinear_ ? in[2] : (in.size() > 2 ? in[2] : nullptr);
    TQ_CHECK(!xzp || xzp->numel() == 1, "{}: x_zero_point must be a scalar", n.describe());
    if (xzp) TQ_CHECK(is_int8(xzp->dtype()), "{}: x_zero_point must be uint8 or int8", n.describe());
    QConvArgs a;
    a.g = &s.g;
    a.N = s.N, a.group = s.group, a.M = s.M;
    a.x = x.data<uint8_t>();
    a.x_signed = x.dtype() == DType::I8;
    a.xzp = xzp ? int_at(*xzp, 0) : 0;
    a.w = w.raw();
    a.w_signed = w.dtype() == DType::I8;
    if (has_packed_) {
      a.packed = &packed_;
      a.plan = &plan.conv;
    } else {
      const Tensor* wzp = in.size() > (qlinear_ ? 5u : 3u) ? in[qlinear_ ? 5 : 3] : nullptr;
      a.wzp = zero_points(wzp, s.M, n, "w_zero_point");
    }
    QRequant rq;
    std::vector<float> scale_v;
    const std::vector<float>* out_scale = &params_.out_scale;
    if (params_.ready) {
      a.epilogue = &epilogue_;
      a.bias = params_.bias_data();
      if (requantises()) a.rq = &params_.rq;
    } else if (qlinear_) {
      const float xs = scalar_of(*in[1], n, "x_scale");
      auto ws = floats_of(*in[4], n, "w_scale");
      TQ_CHECK(ws.size() == 1 || static_cast<int64_t>(ws.size()) == s.M,
               "{}: w_scale must have 1 or {} values", n.describe(), s.M);
      const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
      if (bias)
        TQ_CHECK(bias->dtype() == DType::I32 && bias->numel() == s.M, "{}: B must be int32[{}]", n.describe(),
                 s.M);
      a.bias = bias ? bias->data<int32_t>() : nullptr;
      if (float_out_) {
        scale_v = float_scales(xs, ws);
        out_scale = &scale_v;
      } else {
        rq = make_requant(n, xs, ws, scalar_of(*in[6], n, "y_scale"), *in[7], act_lo_, act_hi_);
        a.rq = &rq;
      }
    }
    out[0] = Tensor::empty(requantises() ? in[7]->dtype() : DType::I32, plan.y_shape);
    a.y = out[0].raw();
    if (out[0].numel() > 0) qconv(a, ctx.pool);
    if (float_out_) {
      Tensor y = Tensor::empty(DType::F32, plan.y_shape);
      const int64_t inner = out[0].numel() / std::max<int64_t>(s.N * s.M, 1);
      write_float(ctx, out[0], *out_scale, s.M, inner, act_lo_, act_hi_, y);
      out[0] = std::move(y);
    }
  }

 private:
  // 8-bit output (QLinearConv with y_scale); otherwise int32 (ConvInteger, or the float output's sums).
  bool requantises() const { return qlinear_ && !float_out_; }
  size_t required_inputs() const { return !qlinear_ ? 2 : float_out_ ? 6 : 8; }

  const Node& n_;
  bool qlinear_, float_out_;
  float act_lo_, act_hi_;
  bool has_packed_ = false;
  QConvWeights packed_;
  ConstParams params_;  // ready only with packed weights
  QConvEpilogue epilogue_;
};

// QLinearMatMul (qlinear; optional 9th input: int32 bias [N], from the runtime's Gemm fusion) and
// MatMulInteger: A [..., M, K] × B [K, N]. Constant B is packed once, and with constant parameters its
// epilogue rows (bias, zero-point terms, multipliers) are built once too.
class QMatMulKernel : public Kernel {
 public:
  QMatMulKernel(const KernelInit& init, bool qlinear)
      : n_(init.node), qlinear_(qlinear), float_out_(qlinear && !init.node.input(6)) {
    act_lo_ = n_.get_float(kActMin, -std::numeric_limits<float>::infinity());
    act_hi_ = n_.get_float(kActMax, std::numeric_limits<float>::infinity());
    const size_t bi = qlinear ? 3 : 1, bzi = qlinear ? 5 : 3;
    const Tensor* b = init.constant(bi);
    if (b && is_int8(b->dtype()) && b->rank() == 2 && known_at_init(init, bzi)) {
      const Tensor* zp = init.constant(bzi);
      if (zp && zp->numel() != 1 && zp->numel() != b->dim(1)) return;
      packed_ = qpack_matmul_b(qgemm_kernel(), b->raw(), b->dtype() == DType::I8, b->dim(0), b->dim(1),
                               zero_points(zp, b->dim(1), n_, "b_zero_point"));
      has_packed_ = true;
      params_ = const_params(init, qlinear, float_out_, b->dim(1), act_lo_, act_hi_);
      if (params_.ready)
        rows_ = qrow_params(packed_, 0, params_.zxu, b->dim(0), params_.bias_data(),
                            requantises() ? &params_.rq : nullptr);
    }
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Node& n = n_;
    for (size_t i = 0; i < required_inputs(); ++i)
      TQ_CHECK(in.size() > i && in[i], "{}: input {} is required", n.describe(), i);
    const Tensor& a = *in[0];
    const Tensor& b = *in[qlinear_ ? 3 : 1];
    TQ_CHECK(is_int8(a.dtype()) && is_int8(b.dtype()), "{}: A and B must be uint8 or int8", n.describe());
    TQ_CHECK(a.rank() >= 2 && b.rank() == 2,
             "{}: only A of rank ≥ 2 times a 2-D B is supported (got {} × {})", n.describe(),
             shape_str(a.shape()), shape_str(b.shape()));
    const int64_t K = a.dim(-1), N = b.dim(1), M = a.numel() / std::max<int64_t>(K, 1);
    TQ_CHECK(b.dim(0) == K, "{}: inner dimensions differ: {} × {}", n.describe(), shape_str(a.shape()),
             shape_str(b.shape()));
    const Tensor* azp = qlinear_ ? in[2] : (in.size() > 2 ? in[2] : nullptr);
    QMatMulArgs m;
    m.M = M, m.K = K, m.N = N;
    m.a = a.data<uint8_t>();
    m.a_signed = a.dtype() == DType::I8;
    if (params_.ready) {  // checked when the kernel was created
      m.azp = azp ? int_at(*azp, 0) : 0;
    } else {
      auto az = zero_points(azp, 1, n, "a_zero_point");
      TQ_CHECK(az.size() == 1, "{}: A's zero point must be per-tensor", n.describe());
      m.azp = az[0];
    }
    m.b = b.raw();
    m.b_signed = b.dtype() == DType::I8;
    if (has_packed_) {
      m.packed = &packed_;
    } else {
      const Tensor* bzp = in.size() > (qlinear_ ? 5u : 3u) ? in[qlinear_ ? 5 : 3] : nullptr;
      m.bzp = zero_points(bzp, N, n, "b_zero_point");
    }
    Shape ys = a.shape();
    ys.back() = N;
    QRequant rq;
    std::vector<float> scale_v;
    const std::vector<float>* out_scale = &params_.out_scale;
    if (params_.ready) {
      m.rows = &rows_;
      m.bias = params_.bias_data();
      if (requantises()) m.rq = &params_.rq;
    } else if (qlinear_) {
      const float as = scalar_of(*in[1], n, "a_scale");
      auto bs = floats_of(*in[4], n, "b_scale");
      TQ_CHECK(bs.size() == 1 || static_cast<int64_t>(bs.size()) == N, "{}: b_scale must have 1 or {} values",
               n.describe(), N);
      const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
      if (bias)
        TQ_CHECK(bias->dtype() == DType::I32 && bias->numel() == N, "{}: bias must be int32[{}]",
                 n.describe(), N);
      m.bias = bias ? bias->data<int32_t>() : nullptr;
      if (float_out_) {
        scale_v = float_scales(as, bs);
        out_scale = &scale_v;
      } else {
        rq = make_requant(n, as, bs, scalar_of(*in[6], n, "y_scale"), *in[7], act_lo_, act_hi_);
        m.rq = &rq;
      }
    }
    out[0] = Tensor::empty(requantises() ? in[7]->dtype() : DType::I32, ys);
    m.y = out[0].raw();
    if (K == 0) {  // empty sum: bias (or 0), requantised
      for (int64_t i = 0; i < M * N; ++i) {
        const int32_t v = m.bias ? m.bias[i % N] : 0;
        if (requantises())
          set_int(
              out[0], i,
              requantize(v, m.rq->mult[m.rq->mult.size() == 1 ? 0 : i % N], m.rq->zp, m.rq->qlo, m.rq->qhi));
        else
          out[0].data<int32_t>()[i] = v;
      }
    } else if (out[0].numel() > 0) {
      qmatmul(m, ctx.pool);
    }
    if (float_out_) {
      Tensor y = Tensor::empty(DType::F32, ys);
      write_float(ctx, out[0], *out_scale, N, 1, act_lo_, act_hi_, y);
      out[0] = std::move(y);
    }
  }

 private:
  // 8-bit output (QLinearMatMul with y_scale); otherwise int32 (MatMulInteger, or the float output's sums).
  bool requantises() const { return qlinear_ && !float_out_; }
  size_t required_inputs() const { return !qlinear_ ? 2 : float_out_ ? 6 : 8; }

  const Node& n_;
  bool qlinear_, float_out_;
  float act_lo_, act_hi_;
  bool has_packed_ = false;
  QPackedWeights packed_;
  ConstParams params_;  // ready only with packed weights
  QRowParams rows_;
};

}  // namespace

void register_quant_ops(KernelRegistry& r) {
  r["QuantizeLinear"] = [](const KernelInit& init) {
    const Node& n = init.node;
    int64_t axis = n.get_int("axis", 1);
    return make_kernel(
        [&n, axis](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
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
          if (t == DType::U8 || t == DType::I8) {
            const QElementwise& ew = qelementwise();
            uint8_t* yp = out[0].data<uint8_t>();
            for_blocks(ctx, x.numel(), ap, [&](int64_t b, int64_t cnt, int64_t c) {
              ew.quantize(xp + b, cnt, scale[c], zps[zps.size() == 1 ? 0 : c], qr.lo, qr.hi, t == DType::I8,
                          yp + b);
            });
            return;
          }
          for (int64_t i = 0; i < x.numel(); ++i) {
            int64_t c = ap.at(i);
            set_int(out[0], i, quantize_value(xp[i], scale[c], zps[zps.size() == 1 ? 0 : c], qr.lo, qr.hi));
          }
        });
  };
  r["DequantizeLinear"] = [](const KernelInit& init) {
    const Node& n = init.node;
    int64_t axis = n.get_int("axis", 1);
    return make_kernel([&n, axis](RunContext& ctx, const std::vector<const Tensor*>& in,
                                  std::vector<Tensor>& out) {
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
      if (is_int8(x.dtype())) {
        const QElementwise& ew = qelementwise();
        const uint8_t* xq = x.data<uint8_t>();
        for_blocks(ctx, x.numel(), ap, [&](int64_t b, int64_t cnt, int64_t c) {
          ew.dequantize(xq + b, x.dtype() == DType::I8, cnt, scale[c], zps[zps.size() == 1 ? 0 : c], yp + b);
        });
        return;
      }
      for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t c = ap.at(i);
        yp[i] = dequantize_value(int_at(x, i), scale[c], zps[zps.size() == 1 ? 0 : c]);
      }
    });
  };
  r["DynamicQuantizeLinear"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor& x = *in[0];
      expect_dtype(n, x, DType::F32, "input");
      const float* xp = x.data<float>();
      const QElementwise& ew = qelementwise();
      // min/max per chunk, then combined (order-independent: the same for any thread count)
      constexpr int64_t kChunk = int64_t(1) << 15;
      const int64_t chunks = (x.numel() + kChunk - 1) / kChunk;
      std::vector<float> los(static_cast<size_t>(chunks), 0.f), his(static_cast<size_t>(chunks), 0.f);
      const double minmax_ns = work::bytes(4.0 * static_cast<double>(x.numel()));
      ctx.pool.parallel_for(chunks, {minmax_ns}, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i)
          ew.minmax(xp + i * kChunk, std::min(kChunk, x.numel() - i * kChunk), &los[i], &his[i]);
      });
      float lo = 0.f, hi = 0.f;  // the range always includes 0
      for (int64_t i = 0; i < chunks; ++i) {
        lo = std::min(lo, los[i]);
        hi = std::max(hi, his[i]);
      }
      float scale = hi == lo ? 1.f : (hi - lo) / 255.f;  // a degenerate range still gets a positive scale
      float zpf = std::min(255.f, std::max(0.f, 0.f - lo / scale));
      int32_t zp = static_cast<int32_t>(round_half_even(zpf));
      out[0] = Tensor::empty(DType::U8, x.shape());
      uint8_t* yp = out[0].data<uint8_t>();
      for_blocks(ctx, x.numel(), AxisParams{}, [&](int64_t b, int64_t cnt, int64_t) {
        ew.quantize(xp + b, cnt, scale, zp, 0, 255, false, yp + b);
      });
      out[1] = Tensor::scalar_f32(scale);
      out[2] = Tensor::empty(DType::U8, {});
      out[2].data<uint8_t>()[0] = static_cast<uint8_t>(zp);
    });
  };
  r["ConvInteger"] = [](const KernelInit& init) { return std::make_unique<QConvKernel>(init, false); };
  r["QLinearConv"] = [](const KernelInit& init) { return std::make_unique<QConvKernel>(init, true); };
  r["MatMulInteger"] = [](const KernelInit& init) { return std::make_unique<QMatMulKernel>(init, false); };
  r["QLinearMatMul"] = [](const KernelInit& init) { return std::make_unique<QMatMulKernel>(init, true); };
}

}  // namespace tinyqat
