// Element-wise operators: unary activations, broadcasting arithmetic, Softmax, BatchNormalization.
#include <cmath>
#include <limits>

#include "ir/op_math.h"
#include "runtime/fuse.h"
#include "runtime/kernel.h"
#include "runtime/kernels/unary_f32.h"

namespace tinyqat {
namespace {

// Applies f to every element on worker threads (large tensors only).
template <typename F>
void map_unary(RunContext& ctx, const Tensor& x, Tensor& y, F f) {
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  // ~0.5 ns per element (vectorised ones take less, exp/tanh more)
  const ThreadPool::Cost cost{work::scalar_ops(0.5 * static_cast<double>(x.numel())), 1 << 14};
  ctx.pool.parallel_for(x.numel(), cost, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) yp[i] = f(xp[i]);
  });
}

// A vectorised activation (kernels/vmath.inc) over the whole tensor, in blocks on worker threads.
KernelFactory vector_unary(UnaryF32Fn UnaryF32::*fn, double ns_per_element) {
  return [fn, ns_per_element](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n, fn, ns_per_element](RunContext& ctx, const std::vector<const Tensor*>& in,
                                                std::vector<Tensor>& out) {
      expect_dtype(n, *in[0], DType::F32, "input");
      out[0] = Tensor::empty(DType::F32, in[0]->shape());
      const float* xp = in[0]->data<float>();
      float* yp = out[0].data<float>();
      const UnaryF32Fn f = unary_f32().*fn;
      const ThreadPool::Cost cost{work::scalar_ops(ns_per_element * static_cast<double>(in[0]->numel())),
                                  1 << 12};
      ctx.pool.parallel_for(in[0]->numel(), cost,
                            [&](int64_t b, int64_t e, int) { f(xp + b, yp + b, e - b); });
    });
  };
}

template <typename F>
KernelFactory unary(F f) {
  return [f](const KernelInit& init) {
    const Node& n = init.node;
    auto g = f(n);
    return make_kernel(
        [&n, g](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
          expect_dtype(n, *in[0], DType::F32, "input");
          out[0] = Tensor::empty(DType::F32, in[0]->shape());
          map_unary(ctx, *in[0], out[0], g);
        });
  };
}

// Broadcasting binary op on any arithmetic type.
template <typename T, typename F>
void broadcast_apply(const Tensor& a, const Tensor& b, Tensor& y, F f) {
  const Shape& ys = y.shape();
  const int r = static_cast<int>(ys.size());
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  T* yp = y.data<T>();
  // Nothing to compute; the stride products below could overflow on a zero-size shape with huge dims
  // (UBSan in fuzz/fuzz_c_api.cpp: [0,1,37,2^57]).
  if (y.numel() == 0) return;
  if (a.shape() == b.shape()) {
    for (int64_t i = 0; i < y.numel(); ++i) yp[i] = f(ap[i], bp[i]);
    return;
  }
  if (b.numel() == 1) {
    T bv = bp[0];
    for (int64_t i = 0; i < y.numel(); ++i) yp[i] = f(ap[i], bv);
    return;
  }
  if (r > 0 && a.shape() == ys && b.rank() > 0 && b.shape().back() == ys[r - 1] && b.numel() == ys[r - 1]) {
    // A per-feature vector over rows (input normalisation x − mean, / std): no index arithmetic.
    const int64_t inner = ys[r - 1];
    for (int64_t o = 0; o < y.numel(); o += inner)
      for (int64_t k = 0; k < inner; ++k) yp[o + k] = f(ap[o + k], bp[k]);
    return;
  }
  // Strides of a and b in the output's index space (0 along broadcast dims).
  std::vector<int64_t> sa(r, 0), sb(r, 0);
  auto strides = [&](const Shape& s, std::vector<int64_t>& st) {
    int64_t acc = 1;
    for (int i = r - 1, j = static_cast<int>(s.size()) - 1; i >= 0; --i, --j) {
      int64_t d = j >= 0 ? s[j] : 1;
      st[i] = d == 1 ? 0 : acc;
      acc *= d;
    }
  };
  strides(a.shape(), sa);
  strides(b.shape(), sb);
  if (r == 0) {
    yp[0] = f(ap[0], bp[0]);
    return;
  }
  const int64_t inner = ys[r - 1];
  const int64_t outer = y.numel() / std::max<int64_t>(inner, 1);
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < outer; ++o) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < r - 1; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    T* yrow = yp + o * inner;
    const int64_t ia = sa[r - 1], ib = sb[r - 1];
    for (int64_t k = 0; k < inner; ++k) yrow[k] = f(ap[oa + k * ia], bp[ob + k * ib]);
    for (int i = r - 2; i >= 0; --i) {
      if (++idx[i] < ys[i]) break;
      idx[i] = 0;
    }
  }
}

template <typename Op>
KernelFactory binary() {
  return [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor& a = *in[0];
      const Tensor& b = *in[1];
      TQ_CHECK(a.dtype() == b.dtype(), "{}: input types {} and {} differ", n.describe(),
               dtype_name(a.dtype()), dtype_name(b.dtype()));
      Shape ys = broadcast_shapes(a.shape(), b.shape(), n.describe());
      out[0] = Tensor::empty(a.dtype(), ys);
      switch (a.dtype()) {
        case DType::F32:
          broadcast_apply<float>(a, b, out[0], Op{});
          break;
        case DType::I32:
          broadcast_apply<int32_t>(a, b, out[0], Op{});
          break;
        case DType::I64:
          broadcast_apply<int64_t>(a, b, out[0], Op{});
          break;
        default:
          fail("{}: type {} is not supported", n.describe(), dtype_name(a.dtype()));
      }
    });
  };
}

struct AddOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a + b;
  }
};
struct SubOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a - b;
  }
};
struct MulOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a * b;
  }
};
struct DivOp {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) throw Error("Div: integer division by zero");
    }
    return a / b;
  }
};

float scalar_or(const Tensor* t, float def) {
  if (!t) return def;
  TQ_CHECK(t->numel() == 1 && t->dtype() == DType::F32, "Clip: min/max must be float scalars");
  return t->data<float>()[0];
}

}  // namespace

void register_elementwise_ops(KernelRegistry& r) {
  r["Relu"] = unary([](const Node&) { return [](float x) { return x > 0.f ? x : 0.f; }; });
  r["LeakyRelu"] = unary([](const Node& n) {
    float alpha = n.get_float("alpha", 0.01f);
    return [alpha](float x) { return x >= 0.f ? x : alpha * x; };
  });
  // Vectorised (vmath.inc; within 3e-7 of <cmath>). Costs: ns per element, in the pool's work units.
  r["Sigmoid"] = vector_unary(&UnaryF32::sigmoid, 0.5);
  r["Tanh"] = vector_unary(&UnaryF32::tanh, 0.7);
  r["Erf"] = vector_unary(&UnaryF32::erf, 0.7);
  r[kGelu] = vector_unary(&UnaryF32::gelu, 0.8);
  r["Sqrt"] = unary([](const Node&) { return [](float x) { return std::sqrt(x); }; });
  r["Identity"] = [](const KernelInit&) {
    return make_kernel(
        [](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) { out[0] = *in[0]; });
  };
  r["Clip"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      expect_dtype(n, *in[0], DType::F32, "input");
      const Tensor* lo_t = in.size() > 1 ? in[1] : nullptr;
      const Tensor* hi_t = in.size() > 2 ? in[2] : nullptr;
      float lo = scalar_or(lo_t, -std::numeric_limits<float>::infinity());
      float hi = scalar_or(hi_t, std::numeric_limits<float>::infinity());
      out[0] = Tensor::empty(DType::F32, in[0]->shape());
      // ONNX: min(max(x, lo), hi); NaN stays NaN.
      map_unary(ctx, *in[0], out[0], [lo, hi](float x) { return x < lo ? lo : (x > hi ? hi : x); });
    });
  };
  r["Add"] = binary<AddOp>();
  r["Sub"] = binary<SubOp>();
  r["Mul"] = binary<MulOp>();
  r["Div"] = binary<DivOp>();

  r["Softmax"] = [](const KernelInit& init) {
    const Node& n = init.node;
    TQ_CHECK(init.opset >= 13, "{}: Softmax before opset 13 (2-D coercion) is not supported", n.describe());
    int64_t axis_attr = n.get_int("axis", -1);
    return make_kernel(
        [&n, axis_attr](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
          const Tensor& x = *in[0];
          expect_dtype(n, x, DType::F32, "input");
          int64_t axis = normalize_axis(axis_attr, x.rank(), n.describe());
          int64_t len = x.dim(static_cast<int>(axis)), inner = 1;
          for (int i = static_cast<int>(axis) + 1; i < x.rank(); ++i) inner *= x.dim(i);
          int64_t outer = len * inner == 0 ? 0 : x.numel() / (len * inner);
          out[0] = Tensor::empty(DType::F32, x.shape());
          const float* xp = x.data<float>();
          float* yp = out[0].data<float>();
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t in_i = 0; in_i < inner; ++in_i) {
              const float* xs = xp + o * len * inner + in_i;
              float* ys = yp + o * len * inner + in_i;
              float m = -std::numeric_limits<float>::infinity();
              for (int64_t k = 0; k < len; ++k) m = std::max(m, xs[k * inner]);
              double sum = 0;
              for (int64_t k = 0; k < len; ++k) {
                ys[k * inner] = std::exp(xs[k * inner] - m);
                sum += ys[k * inner];
              }
              float inv = static_cast<float>(1.0 / sum);
              for (int64_t k = 0; k < len; ++k) ys[k * inner] *= inv;
            }
        });
  };

  r["BatchNormalization"] = [](const KernelInit& init) {
    const Node& n = init.node;
    TQ_CHECK(n.get_int("training_mode", 0) == 0 && n.outputs.size() == 1,
             "{}: only inference-mode BatchNormalization is supported", n.describe());
    float eps = n.get_float("epsilon", 1e-5f);
    return make_kernel(
        [&n, eps](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
          const Tensor& x = *in[0];
          expect_dtype(n, x, DType::F32, "input");
          TQ_CHECK(x.rank() >= 2, "{}: input must have a channel dimension", n.describe());
          const int64_t C = x.dim(1), N = x.dim(0), S = N && C ? x.numel() / (N * C) : 0;
          for (int i = 1; i <= 4; ++i)
            TQ_CHECK(in[i] && in[i]->numel() == C && in[i]->dtype() == DType::F32,
                     "{}: scale/B/mean/var must be float32 of length C={}", n.describe(), C);
          const float *sc = in[1]->data<float>(), *bi = in[2]->data<float>(), *mu = in[3]->data<float>(),
                      *var = in[4]->data<float>();
          out[0] = Tensor::empty(DType::F32, x.shape());
          const float* xp = x.data<float>();
          float* yp = out[0].data<float>();
          for (int64_t b = 0; b < N; ++b)
            for (int64_t c = 0; c < C; ++c) {
              float k = sc[c] / std::sqrt(var[c] + eps), off = bi[c] - mu[c] * k;
              const float* xs = xp + (b * C + c) * S;
              float* ys = yp + (b * C + c) * S;
              for (int64_t i = 0; i < S; ++i) ys[i] = xs[i] * k + off;
            }
        });
  };
}

}  // namespace tinyqat
