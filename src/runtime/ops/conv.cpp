// Float convolutions: Conv (GEMM over packed im2col strips; depthwise runs direct; on AVX2 and AVX-512
// multi-channel convs sliding one column at a time run from channels-last input rows, and chains of them
// with depthwise convs stay channels-last) and ConvTranspose
// (GEMM then col2im).
#include <algorithm>
#include <cstring>
#include <memory>

#include "runtime/fuse.h"
#include "runtime/kernel.h"
#include "runtime/kernels/conv_cl_rows_f32.h"
#include "runtime/kernels/conv_dw_cl_f32.h"
#include "runtime/kernels/interleave.h"
#include "runtime/kernels/sgemm.h"
#include "runtime/ops/conv_common.h"

namespace tinyqat {

ConvTransposeGeometry conv_transpose_geometry(const Node& n, int64_t H, int64_t W, int64_t KH, int64_t KW) {
  const TransposeAttrs a = conv_transpose_attrs(n, {KH, KW});
  const TransposeAxis y = conv_transpose_axis(n, a, 0, H), x = conv_transpose_axis(n, a, 1, W);
  return {H,
          W,
          KH,
          KW,
          y.out,
          x.out,
          a.w.strides[0],
          a.w.strides[1],
          a.w.dilations[0],
          a.w.dilations[1],
          y.pad_begin,
          x.pad_begin};
}

ConvSpec conv_spec(const Node& n, const Shape& x, const Shape& w) {
  TQ_CHECK(x.size() == 3 || x.size() == 4, "{}: input must be [N,C,W] or [N,C,H,W], got {}", n.describe(),
           shape_str(x));
  TQ_CHECK(w.size() == x.size(), "{}: weight {} does not match input {}", n.describe(), shape_str(w),
           shape_str(x));
  ConvSpec s;
  s.N = x[0];
  s.Cin = x[1];
  s.M = w[0];
  s.group = n.get_int("group", 1);
  TQ_CHECK(s.group >= 1 && s.Cin % s.group == 0 && s.M % s.group == 0 && w[1] * s.group == s.Cin,
           "{}: input {} , weight {} and group {} do not fit together", n.describe(), shape_str(x),
           shape_str(w), s.group);
  const bool one_d = x.size() == 3;
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (n.has("kernel_shape"))
    TQ_CHECK(n.get_ints("kernel_shape") == kernel, "{}: kernel_shape disagrees with the weight",
             n.describe());
  WindowAttrs wa = window_attrs(n, kernel);
  std::vector<int64_t> in_sp(x.begin() + 2, x.end());
  auto pads = resolve_pads(wa, in_sp);
  ConvGeometry& g = s.g;
  g.C = s.Cin / s.group;
  const size_t sp = kernel.size();
  auto out_dim = [&](size_t i) {
    return window_out_dim(in_sp[i], kernel[i], wa.strides[i], wa.dilations[i], pads[i], pads[i + sp], false);
  };
  if (one_d) {
    g.H = 1, g.W = in_sp[0], g.KH = 1, g.KW = kernel[0], g.SW = wa.strides[0], g.DW = wa.dilations[0];
    g.PL = pads[0], g.OH = 1, g.OW = out_dim(0);
  } else {
    g.H = in_sp[0], g.W = in_sp[1], g.KH = kernel[0], g.KW = kernel[1];
    g.SH = wa.strides[0], g.SW = wa.strides[1], g.DH = wa.dilations[0], g.DW = wa.dilations[1];
    g.PT = pads[0], g.PL = pads[1], g.OH = out_dim(0), g.OW = out_dim(1);
  }
  // The kernels size buffers from the padded plane and its channels in int64 arithmetic: a shape claiming
  // more than 2^40 values there (possible with an empty batch: [0,1,37,2^57] holds no element) is refused
  // before that arithmetic can overflow (UBSan: qconv_layout).
  constexpr int64_t kMaxDim = int64_t(1) << 31, kMaxPlane = int64_t(1) << 40;
  bool fits = true;
  for (int64_t v : {g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL, s.Cin, s.M})
    fits = fits && v < kMaxDim;
  if (fits) {  // every factor below 2^31: the products fit in int64
    const int64_t ph = std::max(g.PT + g.H, (g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1),
                  pw = std::max(g.PL + g.W, (g.OW - 1) * g.SW + (g.KW - 1) * g.DW + 1);
    fits = ph < kMaxDim && pw < kMaxDim && ph * pw <= kMaxPlane / std::max<int64_t>(s.Cin, 1);
  }
  TQ_CHECK(fits,
           "{}: input {} is too large for a convolution (at most 2^31 per dimension, 2^40 values per image)",
           n.describe(), shape_str(x));
  return s;
}

namespace {

// A 1×1 stride-1 unpadded conv: its im2col matrix is the image itself (channel c is row c).
bool plain_pointwise(const ConvGeometry& g) {
  return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H &&
         g.OW == g.W;
}

// B operand of a convolution's GEMM: im2col columns of one image group. Rows that lie fully inside the
// image are read in place; only tiles touching padding (or strided convs) are packed.
void set_im2col_source(const ConvGeometry& g, const float* xg, int NR, SgemmArgs& args) {
  const int64_t HW = g.H * g.W;
  if (plain_pointwise(g)) {  // B is the image itself: channel c is row c
    args.b = [&g, xg, NR, HW](int64_t j0, int nr, float* buf, const float** rows) {
      if (nr == NR) {
        for (int64_t c = 0; c < g.C; ++c) rows[c] = xg + c * HW + j0;
        return;
      }
      im2col_pack<float>(g, xg, j0, nr, NR, buf, 0.f);
      packed_rows(buf, g.K(), NR, rows);
    };
    return;
  }
  const int64_t tiles_per_row = (g.OW + NR - 1) / NR;
  args.n_tiles = g.OH * tiles_per_row;
  args.tile = [&g, NR, tiles_per_row](int64_t t, int64_t* j0, int* nr) {
    int64_t oy = t / tiles_per_row, ox0 = (t % tiles_per_row) * NR;
    *j0 = oy * g.OW + ox0;
    *nr = static_cast<int>(std::min<int64_t>(NR, g.OW - ox0));
  };
  static const std::vector<float> zero_row(4096, 0.f);
  TQ_CHECK(NR <= 4096, "sgemm tile too wide");
  args.b = [geo = g, xg, NR](int64_t j0, int nr, float* buf, const float** rows) {
    // Row by row: in place when the NR columns lie inside the image row, the shared zero row when the
    // whole row is padding, packed (with zeros) otherwise.
    const ConvGeometry g = geo;
    const int64_t oy = j0 / g.OW, ox0 = j0 % g.OW;
    const int64_t ixb = ox0 * g.SW - g.PL;  // input column of the tile's first pixel at kx = 0
    const float* zeros = zero_row.data();
    const float** r = rows;
    // Fast path, most tiles: every row of the tile lies inside the image.
    bool inside = g.SW == 1 && ixb >= 0 && ixb + (g.KW - 1) * g.DW + NR <= g.W;
    const int64_t iy0 = oy * g.SH - g.PT;
    inside = inside && iy0 >= 0 && iy0 + (g.KH - 1) * g.DH < g.H;
    if (inside) {
      for (int64_t c = 0; c < g.C; ++c)
        for (int64_t ky = 0; ky < g.KH; ++ky) {
          const float* xr = xg + (c * g.H + iy0 + ky * g.DH) * g.W + ixb;
          for (int64_t kx = 0; kx < g.KW; ++kx) *r++ = xr + kx * g.DW;
        }
      return;
    }
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t ky = 0; ky < g.KH; ++ky) {
        const int64_t iy = oy * g.SH - g.PT + ky * g.DH;
        if (iy < 0 || iy >= g.H) {
          for (int64_t kx = 0; kx < g.KW; ++kx) *r++ = zeros;
          continue;
        }
        const float* xr = xg + (c * g.H + iy) * g.W;
        for (int64_t kx = 0; kx < g.KW; ++kx) {
          const int64_t ix0 = ixb + kx * g.DW;
          if (g.SW == 1 && ix0 >= 0 && ix0 + NR <= g.W) {
            *r++ = xr + ix0;
            continue;
          }
          // Columns j < nr with 0 <= ix0 + j*SW < W come from the image, the rest are zero.
          float* o = buf + (r - rows) * NR;
          int64_t lo = ix0 >= 0 ? 0 : (-ix0 + g.SW - 1) / g.SW;
          int64_t hi = ix0 >= g.W ? 0 : (g.W - ix0 + g.SW - 1) / g.SW;
          lo = std::min<int64_t>(lo, nr);
          hi = std::clamp<int64_t>(hi, lo, nr);
          std::fill(o, o + lo, 0.f);
          if (g.SW == 1) {
            std::copy(xr + ix0 + lo, xr + ix0 + hi, o + lo);
          } else {
            for (int64_t j = lo; j < hi; ++j) o[j] = xr[ix0 + j * g.SW];
          }
          std::fill(o + hi, o + NR, 0.f);
          *r++ = o;
        }
      }
  };
}

// Channels-last images (N×H×W×C, fuse.h kClIn/kClOut) to planes (N×C×H×W) and back; `shape` is the
// logical [N, C, H, W].
Tensor cl_to_planes(const float* src, const Shape& shape) {
  Tensor t = Tensor::empty(DType::F32, shape);
  const int64_t N = shape[0], C = shape[1], HW = shape[2] * shape[3];
  float* dst = t.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < HW; ++p)
      for (int64_t c = 0; c < C; ++c) dst[(n * C + c) * HW + p] = src[(n * HW + p) * C + c];
  return t;
}
void planes_to_cl(const Tensor& planes, float* dst) {
  const int64_t N = planes.dim(0), C = planes.dim(1), HW = planes.dim(2) * planes.dim(3);
  const float* src = planes.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < HW; ++p) dst[(n * HW + p) * C + c] = src[(n * C + c) * HW + p];
}

Shape conv_out_shape(const ConvSpec& s, size_t rank) {
  if (rank == 3) return {s.N, s.M, s.g.OW};
  return {s.N, s.M, s.g.OH, s.g.OW};
}

class ConvF32 : public Kernel {
 public:
  explicit ConvF32(const KernelInit& init) : n_(init.node) {
    lo_ = n_.get_float(kActMin, -__builtin_inff());
    hi_ = n_.get_float(kActMax, __builtin_inff());
    fused_add_ = n_.get_int(kFusedAdd, 0) != 0;
    cl_in_ = n_.get_int(kClIn, 0) != 0, cl_res_ = n_.get_int(kClRes, 0) != 0,
    cl_out_ = n_.get_int(kClOut, 0) != 0;
    const Tensor* w = init.constant(1);
    if (w && w->dtype() == DType::F32 && w->rank() >= 3) {
      group_ = n_.get_int("group", 1);
      TQ_CHECK(group_ >= 1 && w->dim(0) >= 1 && w->dim(0) % group_ == 0,
               "{}: group {} does not divide {} output channels", n_.describe(), group_, w->dim(0));
      const int64_t mg = w->dim(0) / group_, K = w->numel() / w->dim(0);
      // Packed for the kernel the conv will run on: a depthwise conv of a channels-last chain for the
      // channels-last depthwise kernel; a conv the channels-last-rows kernel takes at any input size,
      // when it is part of a chain or one the kernel takes between planes, for that kernel; else the GEMM.
      const bool chained = cl_in_ || cl_res_ || cl_out_;
      if (cl_in_ && cl_out_ && depthwise_channels_last_conv(n_, *w)) {
        dw_cl_ = conv_dw_cl_pack(w->data<float>(), w->dim(0), conv_cl_lanes());
        return;
      }
      planes_cl_ = channels_last_rows_conv(n_, *w, /*between_planes=*/true) ? 1 : 0;
      const bool cl = channels_last_rows_conv(n_, *w) && (chained || planes_cl_);
      for (int64_t gi = 0; gi < group_; ++gi) {
        const float* wg = w->data<float>() + gi * mg * K;
        if (cl)
          cl_packed_.push_back(conv_cl_pack(wg, mg, w->dim(1), w->dim(2), w->dim(3), conv_cl_lanes()));
        else
          packed_.push_back(pack_a(wg, K, 1, mg, K));
      }
    }
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    expect_dtype(n_, x, DType::F32, "input X");
    expect_dtype(n_, w, DType::F32, "weight W");
    ConvSpec s = conv_spec(n_, x.shape(), w.shape());
    const Tensor* b = in.size() > 2 ? in[2] : nullptr;
    if (b)
      TQ_CHECK(b->numel() == s.M && b->dtype() == DType::F32, "{}: bias must be float32[{}]", n_.describe(),
               s.M);
    out[0] = Tensor::empty(DType::F32, conv_out_shape(s, x.shape().size()));
    const float* rp = nullptr;  // fused residual, laid out like the output
    if (fused_add_) {
      const Tensor* r = in.size() > 3 ? in[3] : nullptr;
      TQ_CHECK(r && r->dtype() == DType::F32 && r->shape() == out[0].shape(),
               "{}: fused residual does not match the output {}", n_.describe(), shape_str(out[0].shape()));
      rp = r->data<float>();
    }
    if (out[0].numel() == 0) return;  // an empty batch or plane: nothing to compute (nor to split)
    const ConvGeometry& g = s.g;
    const int64_t mg = s.M / s.group;
    const float* xp = x.data<float>();
    const float* wp = w.data<float>();
    const float* bp = b ? b->data<float>() : nullptr;
    float* yp = out[0].data<float>();
    // Chains of channels-last-rows convs hand each other channels-last images (fuse.cpp
    // mark_channels_last); the kernel reads and writes either layout.
    const ConvClLayout layout{cl_in_, cl_res_ && rp, cl_out_};
    if (const ConvDwClF32 dw = conv_dw_cl_f32();
        dw && layout.x && layout.y && !rp && x.rank() == 4 && dw_cl_.C == s.M && s.group == s.M) {
      run_dw_cl(ctx, dw, s, xp, bp, yp);
      return;
    }
    if (const ConvClF32 cl = conv_cl_f32(); cl && x.rank() == 4 && conv_cl_applies(g, mg) &&
                                            (layout.x || layout.r || layout.y || takes_planes(w))) {
      run_cl_rows(ctx, cl, s, xp, wp, bp, rp, yp, layout);
      return;
    }
    if (!layout.x && !layout.r && !layout.y) return run_planes(ctx, s, xp, wp, bp, rp, yp);
    // A conv of a chain the kernel does not take at this size (rows too wide for its scratch): planes in
    // and out through copies.
    const Shape& xs = x.shape();
    Tensor xt, rt, yt;
    if (layout.x) xt = cl_to_planes(xp, xs), xp = xt.data<float>();
    if (layout.r) rt = cl_to_planes(rp, out[0].shape()), rp = rt.data<float>();
    if (layout.y) yt = Tensor::empty(DType::F32, out[0].shape());
    run_planes(ctx, s, xp, wp, bp, rp, layout.y ? yt.data<float>() : yp);
    if (layout.y) planes_to_cl(yt, yp);
  }

 private:
  // The direct kernel or the GEMM, on planes (C×H×W per image).
  void run_planes(RunContext& ctx, const ConvSpec& s, const float* xp, const float* wp, const float* bp,
                  const float* rp, float* yp) {
    const ConvGeometry& g = s.g;
    const int64_t mg = s.M / s.group, P = g.P(), K = g.K();
    const SgemmKernel& uk = sgemm_kernel();
    // One input channel with a 3×3 kernel, stride 1 or 2 (depthwise convs, single-channel stems): the
    // direct kernel's 3×3 path (conv3x3_rows.inc), also for a stride-1 stem (learned_filter's 1→16 head
    // on 224²: ~0.26 ms direct against ~0.30 ms as a K = 9 GEMM, in the model).
    const bool rows3 = g.C == 1 && g.KH == 3 && g.KW == 3 && g.DH == 1 && g.DW == 1 && g.SW <= 2;
    const bool pointwise = plain_pointwise(g) && g.C > 1;
    if ((mg * 2 <= uk.mr && !pointwise) || (g.C == 1 && g.SW > 1) || rows3) {
      // Depthwise, very few outputs per group, or a strided single-channel stem (its im2col rows would
      // all be gathered): direct. A pointwise conv with few outputs (a 16→1 head) stays a GEMM: its B
      // rows are the input planes read in place, and the GEMM's one-row kernel took 0.6–0.7× the direct
      // kernel's time (16→1 at 384×512). A 3×3 16→1 stays direct: as a GEMM it took 1.9× the time.
      // Work items are blocks of output rows of one (image, group). Blocks of rows whose scratch stays
      // around 128 KiB (L2-resident). One input channel with a 3×3 kernel streams its rows through a small
      // ring instead (conv3x3_rows.inc; the scratch goes unused): blocks of up to 128 rows, split further
      // only to give every thread work.
      const int64_t threads = ctx.pool.size(), items = s.N * s.group;
      int64_t rows_per_item;
      if (rows3) {
        const int64_t blocks = conv_row_blocks(threads, items, g.OH);
        rows_per_item = std::clamp<int64_t>((g.OH + blocks - 1) / blocks, 1, 128);
      } else {
        const int64_t per_row = conv_direct_scratch(g, 1) - conv_direct_scratch(g, 0);
        rows_per_item = std::clamp<int64_t>(32768 / std::max<int64_t>(per_row, 1), 1, g.OH);
      }
      const int64_t row_blocks = (g.OH + rows_per_item - 1) / rows_per_item;
      const ConvDirectF32 direct = conv_direct_f32();
      // Per-worker scratch from the executor's buffer pool (no allocation or page faults per run).
      const int64_t scratch_floats = conv_direct_scratch(g, rows_per_item);
      Tensor scratch_all = Tensor::empty(DType::F32, {threads * scratch_floats});
      // Work: the MACs (direct kernels run below GEMM speed: counted double) or the bytes touched.
      const double macs = static_cast<double>(s.N * s.M) * g.OH * g.OW * K;
      const double bytes = 4.0 * static_cast<double>(s.N) * (s.Cin * g.H * g.W + s.M * g.OH * g.OW);
      const double work_ns = std::max(work::f32_macs(2 * macs), work::bytes(bytes));
      ctx.pool.parallel_for(items * row_blocks, {work_ns}, [&](int64_t begin, int64_t end, int worker) {
        float* scratch = scratch_all.data<float>() + worker * scratch_floats;
        for (int64_t i = begin; i < end; ++i) {
          const int64_t rb = i % row_blocks, ng = i / row_blocks, nb = ng / s.group, gi = ng % s.group;
          const int64_t y0 = rb * rows_per_item, y1 = std::min(g.OH, y0 + rows_per_item);
          const int64_t out_off = (nb * s.M + gi * mg) * P;
          direct(g, mg, xp + (nb * s.Cin + gi * g.C) * g.H * g.W, wp + gi * mg * K,
                 bp ? bp + gi * mg : nullptr, rp ? rp + out_off : nullptr, yp + out_off, y0, y1, lo_, hi_,
                 scratch);
        }
      });
      return;
    }
    std::vector<PackedA> local;
    const std::vector<PackedA>* panels = &packed_;
    if (packed_.empty()) {
      for (int64_t gi = 0; gi < s.group; ++gi) local.push_back(pack_a(wp + gi * mg * K, K, 1, mg, K));
      panels = &local;
    }
    for (int64_t nb = 0; nb < s.N; ++nb)
      for (int64_t gi = 0; gi < s.group; ++gi) {
        const float* xg = xp + (nb * s.Cin + gi * g.C) * g.H * g.W;
        const PackedA& A = (*panels)[gi];
        SgemmArgs args;
        args.M = mg, args.N = P, args.K = K;
        args.a = [&A](int64_t i0, int, float*) { return A.panel(i0); };
        set_im2col_source(g, xg, uk.nr, args);
        args.C = yp + (nb * s.M + gi * mg) * P;
        args.rs_c = P;
        args.bias_m = bp ? bp + gi * mg : nullptr;
        args.R = rp ? rp + (nb * s.M + gi * mg) * P : nullptr;
        args.lo = lo_, args.hi = hi_;
        sgemm(args, ctx.pool);
      }
  }

  // Whether the channels-last-rows kernel runs this conv between planes (known from the constant weight;
  // otherwise read per run).
  bool takes_planes(const Tensor& w) const {
    return planes_cl_ >= 0 ? planes_cl_ != 0 : channels_last_rows_conv(n_, w, /*between_planes=*/true);
  }

  // Depthwise 3×3 convs of a channels-last chain (conv_dw_cl_f32.h): work items are blocks of output
  // rows of one image, two per thread.
  void run_dw_cl(RunContext& ctx, ConvDwClF32 dw, const ConvSpec& s, const float* xp, const float* bp,
                 float* yp) {
    const ConvGeometry& g = s.g;
    const int64_t threads = ctx.pool.size();
    const int64_t blocks = conv_row_blocks(threads, s.N, g.OH);
    const int64_t rows_per = (g.OH + blocks - 1) / blocks, row_blocks = (g.OH + rows_per - 1) / rows_per;
    const int64_t in_image = g.H * g.W * s.M, out_image = g.OH * g.OW * s.M;
    const double macs = 9.0 * static_cast<double>(s.N * s.M) * g.OH * g.OW;
    const double bytes = 4.0 * static_cast<double>(s.N) * (in_image + out_image);
    ctx.pool.parallel_for(s.N * row_blocks, {std::max(work::f32_macs(2 * macs), work::bytes(bytes))},
                          [&](int64_t begin, int64_t end, int) {
                            for (int64_t i = begin; i < end; ++i) {
                              const int64_t nb = i / row_blocks, y0 = (i % row_blocks) * rows_per;
                              dw(g, dw_cl_, xp + nb * in_image, bp, yp + nb * out_image, y0,
                                 std::min(g.OH, y0 + rows_per), lo_, hi_);
                            }
                          });
  }

  // Convs on the channels-last-rows kernel (conv_cl_rows_f32.h). Work items are blocks of
  // output rows of one (image, group); a worker's consecutive blocks of one image group go in one call,
  // so that each input row is transposed into its ring once.
  void run_cl_rows(RunContext& ctx, ConvClF32 cl, const ConvSpec& s, const float* xp, const float* wp,
                   const float* bp, const float* rp, float* yp, ConvClLayout layout) {
    const ConvGeometry& g = s.g;
    const int64_t mg = s.M / s.group, K = g.K(), P = g.P();
    std::vector<ConvClWeights> local;
    const std::vector<ConvClWeights>* cw = &cl_packed_;
    if (cl_packed_.size() != static_cast<size_t>(s.group) || cl_packed_[0].C != g.C ||
        cl_packed_[0].KH != g.KH || cl_packed_[0].KW != g.KW || cl_packed_[0].M != mg) {
      for (int64_t gi = 0; gi < s.group; ++gi)
        local.push_back(conv_cl_pack(wp + gi * mg * K, mg, g.C, g.KH, g.KW, conv_cl_lanes()));
      cw = &local;
    }
    const int64_t threads = ctx.pool.size(), items = s.N * s.group;
    // Two blocks per thread (balance), at most (OH + 1) / 2 of them, so that blocks hold 2+ rows but the
    // last (each block transposes KH - 1 rows its neighbour also transposes).
    const int64_t blocks = conv_row_blocks(threads, items, (g.OH + 1) / 2);
    const int64_t rows_per = (g.OH + blocks - 1) / blocks, row_blocks = (g.OH + rows_per - 1) / rows_per;
    const int64_t scratch_floats = conv_cl_scratch(g);
    Tensor scratch_all = Tensor::empty(DType::F32, {threads * scratch_floats});
    const double macs = static_cast<double>(s.N * s.M) * P * K;
    ctx.pool.parallel_for(
        items * row_blocks, {work::f32_macs(macs)}, [&](int64_t begin, int64_t end, int worker) {
          float* scratch = scratch_all.data<float>() + worker * scratch_floats;
          for (int64_t i = begin; i < end;) {
            const int64_t ng = i / row_blocks, stop = std::min(end, (ng + 1) * row_blocks);
            const int64_t nb = ng / s.group, gi = ng % s.group;
            const int64_t y0 = (i % row_blocks) * rows_per,
                          y1 = std::min(g.OH, ((stop - 1) % row_blocks + 1) * rows_per);
            const int64_t out_off = (nb * s.M + gi * mg) * P;
            cl(g, (*cw)[gi], xp + (nb * s.Cin + gi * g.C) * g.H * g.W, bp ? bp + gi * mg : nullptr,
               rp ? rp + out_off : nullptr, yp + out_off, y0, y1, lo_, hi_, scratch, layout);
            i = stop;
          }
        });
  }

  const Node& n_;
  float lo_, hi_;
  bool fused_add_;
  bool cl_in_ = false, cl_res_ = false, cl_out_ = false;  // channels-last tensors (fuse.h kCl*)
  int64_t group_ = 1;
  std::vector<PackedA> packed_;
  std::vector<ConvClWeights> cl_packed_;
  ConvDwClWeights dw_cl_;  // a depthwise conv of a channels-last chain
  int planes_cl_ = -1;     // takes_planes for the constant weight: 0, 1, or -1 (no constant weight)
};

class ConvTransposeF32 : public Kernel {
 public:
  explicit ConvTransposeF32(const KernelInit& init) : n_(init.node) {
    const Tensor* w = init.constant(1);
    const int64_t group = n_.get_int("group", 1);
    if (w && w->dtype() == DType::F32 && w->rank() == 4 && group >= 1 && w->dim(0) % group == 0)
      packed_ = pack_weights(*w, group);
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Tensor& x = *in[0];
    const Tensor& w = *in[1];
    expect_dtype(n_, x, DType::F32, "input X");
    expect_dtype(n_, w, DType::F32, "weight W");
    TQ_CHECK(x.rank() == 4 && w.rank() == 4, "{}: only 2-D ConvTranspose is supported", n_.describe());
    const int64_t N = x.dim(0), Cin = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int64_t group = n_.get_int("group", 1);
    TQ_CHECK(group >= 1 && Cin % group == 0 && w.dim(0) == Cin, "{}: weight {} does not fit input {}",
             n_.describe(), shape_str(w.shape()), shape_str(x.shape()));
    const int64_t cg = Cin / group, mg = w.dim(1), M = mg * group, KH = w.dim(2), KW = w.dim(3);
    const ConvTransposeGeometry tg = conv_transpose_geometry(n_, H, W, KH, KW);
    const int64_t OH = tg.OH, OW = tg.OW;
    const Tensor* b = in.size() > 2 ? in[2] : nullptr;
    if (b) TQ_CHECK(b->numel() == M, "{}: bias must have {} values", n_.describe(), M);
    out[0] = Tensor::empty(DType::F32, {N, M, OH, OW});
    float* yp = out[0].data<float>();
    const int64_t rows = mg * KH * KW, HW = H * W;
    TQ_CHECK(static_cast<double>(rows) * static_cast<double>(HW) <= kMaxColumnEntries,
             "{}: {} columns of {} pixels are over the 1 GiB the runtime allocates", n_.describe(), rows, HW);
    const bool tiles = tg.tiles();
    std::vector<PackedA> local;
    const std::vector<PackedA>* panels = &packed_;
    if (packed_.empty()) {
      local = pack_weights(w, group);
      panels = &local;
    }
    const float* bp = b ? b->data<float>() : nullptr;
    // Stride = kernel (2×2 / stride-2 upsampling): every output pixel is one column entry, so the
    // columns go in bands of input rows that stay in L2 (~256 KiB), each scattered to the output right
    // after its GEMM. A whole-image column buffer (6–12 MB for the U-Net's decoder) went to memory and
    // back, written through `rows` streams at once. Other geometries add overlapping taps: one buffer.
    // An input without rows still has an output (the bias, where padding and kernel make one): one band.
    const int64_t band =
        tiles ? std::clamp<int64_t>(65536 / std::max<int64_t>(rows * W, 1), 1, std::max<int64_t>(H, 1)) : H;
    const int64_t bands = H > 0 ? (H + band - 1) / band : 1;
    std::unique_ptr<float[]> col(new float[static_cast<size_t>(std::max<int64_t>(rows * band * W, 1))]);
    for (int64_t nb = 0; nb < N; ++nb)
      for (int64_t gi = 0; gi < group; ++gi)
        for (int64_t bi = 0, iy0 = 0; bi < bands; ++bi, iy0 += band) {
          // col[(co,ky,kx), p] = sum_ci W[ci, co, ky, kx] · x[ci, p], p over the band's pixels
          const int64_t bh = std::min(band, H - iy0), bn = bh * W;
          const float* xg = x.data<float>() + (nb * Cin + gi * cg) * HW + iy0 * W;
          const PackedA& A = (*panels)[gi];
          SgemmArgs a;
          a.M = rows, a.N = bn, a.K = cg;
          a.a = [&A](int64_t i0, int, float*) { return A.panel(i0); };
          a.b = strided_b(xg, HW, 1, bn, cg);
          a.C = col.get();
          a.rs_c = bn;
          sgemm(a, ctx.pool);
          // col2im, one output channel per work item.
          ctx.pool.parallel_for(mg, {work::bytes(8.0 * rows * bn)}, [&](int64_t c0, int64_t c1, int) {
            for (int64_t co = c0; co < c1; ++co) {
              float* yc = yp + (nb * M + gi * mg + co) * OH * OW;
              const float bias = bp ? bp[gi * mg + co] : 0.f;
              const float* cc = col.get() + co * KH * KW * bn;
              if (tiles) {
                for (int64_t iy = 0; iy < bh; ++iy)
                  for (int64_t ky = 0; ky < KH; ++ky) {
                    float* yr = yc + ((iy0 + iy) * KH + ky) * OW;
                    if (KW == 2) {
                      interleave2(cc + ky * KW * bn + iy * W, cc + (ky * KW + 1) * bn + iy * W, W, bias, yr);
                      continue;
                    }
                    for (int64_t kx = 0; kx < KW; ++kx) {
                      const float* cr = cc + (ky * KW + kx) * bn + iy * W;
                      for (int64_t ix = 0; ix < W; ++ix) yr[ix * KW + kx] = bias + cr[ix];
                    }
                  }
                continue;
              }
              std::fill(yc, yc + OH * OW, bias);
              col2im_add(tg, cc, yc);
            }
          });
        }
  }

 private:
  // The GEMM's left operand per group: rows (co, ky, kx) × K = cg input channels, W[ci, co, ky, kx].
  static std::vector<PackedA> pack_weights(const Tensor& w, int64_t group) {
    const int64_t cg = w.dim(0) / group, rows = w.dim(1) * w.dim(2) * w.dim(3);
    std::vector<PackedA> p;
    for (int64_t gi = 0; gi < group; ++gi)
      p.push_back(pack_a(w.data<float>() + gi * cg * rows, 1, rows, rows, cg));
    return p;
  }

  const Node& n_;
  std::vector<PackedA> packed_;
};

}  // namespace

void register_conv_ops(KernelRegistry& r) {
  r["Conv"] = [](const KernelInit& init) { return std::make_unique<ConvF32>(init); };
  r["ConvTranspose"] = [](const KernelInit& init) { return std::make_unique<ConvTransposeF32>(init); };
}

}  // namespace tinyqat
