// Pooling and reductions: MaxPool, AveragePool, GlobalAveragePool, ReduceMean.
#include <algorithm>
#include <limits>

#include "ir/op_math.h"
#include "runtime/kernel.h"

namespace tinyqat {
namespace {

struct PoolGeom {
  int64_t H, W, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR;
};

PoolGeom pool_geom(const Node& n, const Tensor& x) {
  TQ_CHECK(x.rank() == 3 || x.rank() == 4, "{}: input must be [N,C,W] or [N,C,H,W], got {}", n.describe(),
           shape_str(x.shape()));
  auto k = n.get_ints("kernel_shape");
  const size_t sp = x.rank() - 2;
  TQ_CHECK(k.size() == sp, "{}: kernel_shape has {} dims for a {}-D input", n.describe(), k.size(), sp);
  WindowAttrs wa = window_attrs(n, k);
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  auto pads = resolve_pads(wa, in);
  PoolGeom g{};
  auto od = [&](size_t i) {
    return window_out_dim(in[i], k[i], wa.strides[i], wa.dilations[i], pads[i], pads[i + sp], wa.ceil_mode);
  };
  if (sp == 1) {
    g = {1, in[0], 1, od(0), 1, k[0], 1, wa.strides[0], 1, wa.dilations[0], 0, pads[0], 0, pads[1]};
  } else {
    g = {in[0],         in[1],           od(0),           od(1),   k[0],    k[1],    wa.strides[0],
         wa.strides[1], wa.dilations[0], wa.dilations[1], pads[0], pads[1], pads[2], pads[3]};
  }
  return g;
}

Shape pooled_shape(const Tensor& x, const PoolGeom& g) {
  if (x.rank() == 3) return {x.dim(0), x.dim(1), g.OW};
  return {x.dim(0), x.dim(1), g.OH, g.OW};
}

// One output row of a 2×2 / stride-2 max pool from input rows r and r + w; NaN wins, as in the general path.
void max_pool_2x2_row(const float* r, int64_t w, float* y, int64_t ow) {
  const float* r1 = r + w;
  for (int64_t ox = 0; ox < ow; ++ox) {
    const float a = r[2 * ox], b = r[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
    const float m = std::max(std::max(a, b), std::max(c, d));
    const bool nan = (a != a) | (b != b) | (c != c) | (d != d);
    y[ox] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
  }
}

KernelFactory pool_factory(bool is_max) {
  return [is_max](const KernelInit& init) {
    const Node& n = init.node;
    TQ_CHECK(n.outputs.size() == 1, "{}: the Indices output is not supported", n.describe());
    bool include_pad = n.get_int("count_include_pad", 0) != 0;
    return make_kernel([&n, is_max, include_pad](RunContext& ctx, const std::vector<const Tensor*>& in,
                                                 std::vector<Tensor>& out) {
      const Tensor& x = *in[0];
      expect_dtype(n, x, DType::F32, "input");
      PoolGeom g = pool_geom(n, x);
      out[0] = Tensor::empty(DType::F32, pooled_shape(x, g));
      const float* xp = x.data<float>();
      float* yp = out[0].data<float>();
      const int64_t planes = x.dim(0) * x.dim(1);
      const double taps = static_cast<double>(planes) * g.OH * g.OW * g.KH * g.KW;  // ~1 ns each
      if (is_max && g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 && g.PT == 0 &&
          g.PL == 0 && 2 * g.OH <= g.H && 2 * g.OW <= g.W) {
        // 2×2 windows, stride 2, every window inside the plane (U-Net downsampling): a row pair at a time.
        ctx.pool.parallel_for(
            planes, {work::bytes(4.0 * planes * g.H * g.W)}, [&](int64_t b, int64_t e, int) {
              for (int64_t pl = b; pl < e; ++pl)
                for (int64_t oy = 0; oy < g.OH; ++oy)
                  max_pool_2x2_row(xp + (pl * g.H + 2 * oy) * g.W, g.W, yp + (pl * g.OH + oy) * g.OW, g.OW);
            });
        return;
      }
      ctx.pool.parallel_for(planes, {work::scalar_ops(taps)}, [&](int64_t b, int64_t e, int) {
        for (int64_t pl = b; pl < e; ++pl) {
          const float* xs = xp + pl * g.H * g.W;
          float* ys = yp + pl * g.OH * g.OW;
          for (int64_t oy = 0; oy < g.OH; ++oy)
            for (int64_t ox = 0; ox < g.OW; ++ox) {
              float acc = is_max ? -std::numeric_limits<float>::infinity() : 0.f;
              int64_t count = 0, padded = 0;
              bool nan = false;
              for (int64_t ky = 0; ky < g.KH; ++ky) {
                int64_t iy = oy * g.SH - g.PT + ky * g.DH;
                for (int64_t kx = 0; kx < g.KW; ++kx) {
                  int64_t ix = ox * g.SW - g.PL + kx * g.DW;
                  // Padded positions that lie within the explicit pads count for count_include_pad.
                  if (iy >= -g.PT && iy < g.H + g.PB && ix >= -g.PL && ix < g.W + g.PR) ++padded;
                  if (iy < 0 || iy >= g.H || ix < 0 || ix >= g.W) continue;
                  float v = xs[iy * g.W + ix];
                  nan |= v != v;
                  if (is_max)
                    acc = std::max(acc, v);
                  else
                    acc += v;
                  ++count;
                }
              }
              float r =
                  is_max ? acc : acc / static_cast<float>(include_pad ? padded : std::max<int64_t>(count, 1));
              ys[oy * g.OW + ox] = nan ? std::numeric_limits<float>::quiet_NaN() : r;
            }
        }
      });
    });
  };
}

// Mean of n contiguous floats, summed in double over eight independent lanes: the lanes break the
// add-latency chain of one running sum (nr_metric's final 128×14×14 mean: 11 → ~2 µs) and vectorise.
float mean_of(const float* x, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] += static_cast<double>(x[i + k]);
  double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; i < n; ++i) s += x[i];
  return static_cast<float>(s / static_cast<double>(std::max<int64_t>(n, 1)));
}

// Mean over a set of axes. Used by ReduceMean and GlobalAveragePool.
Tensor reduce_mean(const Tensor& x, const std::vector<bool>& red, bool keep) {
  Shape ys;
  for (int i = 0; i < x.rank(); ++i) {
    if (!red[i])
      ys.push_back(x.dim(i));
    else if (keep)
      ys.push_back(1);
  }
  Tensor y = Tensor::zeros(DType::F32, ys);
  // Fast path: the reduced axes are the trailing ones (e.g. spatial mean of NCHW): contiguous sums.
  int first_red = x.rank();
  while (first_red > 0 && red[first_red - 1]) --first_red;
  bool trailing = true;
  for (int i = 0; i < first_red; ++i) trailing &= !red[i];
  if (trailing) {
    const int64_t outer = y.numel(), inner = outer ? x.numel() / outer : 0;
    const float* xp = x.data<float>();
    for (int64_t o = 0; o < outer; ++o) y.data<float>()[o] = mean_of(xp + o * inner, inner);
    return y;
  }
  int64_t count = 1;
  for (int i = 0; i < x.rank(); ++i)
    if (red[i]) count *= x.dim(i);
  // Output strides in the input's index space.
  std::vector<int64_t> ystride(x.rank(), 0);
  int64_t acc = 1;
  for (int i = x.rank() - 1; i >= 0; --i)
    if (!red[i]) {
      ystride[i] = acc;
      acc *= x.dim(i);
    }
  std::vector<double> sum(static_cast<size_t>(y.numel()), 0.0);
  const float* xp = x.data<float>();
  std::vector<int64_t> idx(x.rank(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0;
    for (int d = 0; d < x.rank(); ++d) o += idx[d] * ystride[d];
    sum[o] += xp[i];
    for (int d = x.rank() - 1; d >= 0; --d) {
      if (++idx[d] < x.dim(d)) break;
      idx[d] = 0;
    }
  }
  float* yp = y.data<float>();
  for (int64_t i = 0; i < y.numel(); ++i)
    yp[i] = static_cast<float>(sum[i] / static_cast<double>(std::max<int64_t>(count, 1)));
  return y;
}

}  // namespace

void register_pool_ops(KernelRegistry& r) {
  r["MaxPool"] = pool_factory(true);
  r["AveragePool"] = pool_factory(false);
  r["GlobalAveragePool"] = [](const KernelInit& init) {
    const Node& n = init.node;
    return make_kernel([&n](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
      const Tensor& x = *in[0];
      expect_dtype(n, x, DType::F32, "input");
      TQ_CHECK(x.rank() >= 3, "{}: input must be [N,C,...]", n.describe());
      const int64_t planes = x.dim(0) * x.dim(1), S = planes ? x.numel() / planes : 0;
      Shape ys = x.shape();
      for (int i = 2; i < x.rank(); ++i) ys[i] = 1;
      out[0] = Tensor::empty(DType::F32, ys);
      const float* xp = x.data<float>();
      for (int64_t p = 0; p < planes; ++p) out[0].data<float>()[p] = mean_of(xp + p * S, S);
    });
  };
  r["ReduceMean"] = [](const KernelInit& init) {
    const Node& n = init.node;
    bool keep = n.get_int("keepdims", 1) != 0;
    bool noop = n.get_int("noop_with_empty_axes", 0) != 0;
    return make_kernel(
        [&n, keep, noop](RunContext&, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
          const Tensor& x = *in[0];
          expect_dtype(n, x, DType::F32, "input");
          std::vector<int64_t> axes = n.has("axes")              ? n.get_ints("axes")
                                      : (in.size() > 1 && in[1]) ? in[1]->to_i64()
                                                                 : std::vector<int64_t>{};
          if (axes.empty() && noop) {
            out[0] = x;
            return;
          }
          std::vector<bool> red(x.rank(), axes.empty());
          for (auto a : axes) red[normalize_axis(a, x.rank(), n.describe())] = true;
          out[0] = reduce_mean(x, red, keep);
        });
  };
}

}  // namespace tinyqat
