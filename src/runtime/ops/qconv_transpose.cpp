// QLinearConvTranspose (runtime-internal, made by fuse_qdq_for_runtime from DequantizeLinear → ConvTranspose
// → QuantizeLinear; inputs as QLinearConv's: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, B). 2-D, one group. Exact integer arithmetic: per image, the columns
//   col[(co, ky, kx), p] = Σ_ci (x[ci, p] − zx) · (w[ci, co, ky, kx] − zw[co])
// are a pointwise integer convolution of the input (qconv: C_out·KH·KW output planes, the transposed
// weights packed once), then col2im adds them into int32 sums with the int32 bias and each sum is
// requantised like QLinearConv's (multiplier x_s·w_s[co]/y_s, rounded half to even, clamped to the type ∩
// a fused activation). Where every output pixel takes exactly one column entry (stride = kernel, no
// padding or dilation: U-Net upsampling) the convolution's own epilogue adds the bias and requantises, and
// col2im only interleaves bytes. Without y_scale / y_zero_point (a float head) the sums are written as
// float times x_s·w_s[co].
#include <algorithm>
#include <limits>
#include <memory>

#include "core/numerics.h"
#include "runtime/fuse.h"
#include "runtime/kernel.h"
#include "runtime/kernels/interleave.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qgemm.h"
#include "runtime/ops/conv_common.h"
#include "runtime/ops/quant_params.h"

namespace tinyqat {
namespace {

// A scale input: float32 values, at least one.
std::vector<float> scales(const Tensor& t, const Node& n, const char* what) {
  TQ_CHECK(t.numel() >= 1, "{}: {} is empty", n.describe(), what);
  return floats_of(t, n, what);
}

class QConvTransposeKernel : public Kernel {
 public:
  explicit QConvTransposeKernel(const KernelInit& init) : n_(init.node), float_out_(!init.node.input(6)) {
    act_lo_ = n_.get_float(kActMin, -std::numeric_limits<float>::infinity());
    act_hi_ = n_.get_float(kActMax, std::numeric_limits<float>::infinity());
    TQ_CHECK(n_.get_int("group", 1) == 1, "{}: only one group is supported", n_.describe());
    const Tensor* w = init.constant(3);
    const Tensor* wzp = init.constant(5);
    if (w && is_int8(w->dtype()) && w->rank() == 4 && (!n_.input(5) || wzp) &&
        (!wzp || wzp->numel() == 1 || wzp->numel() == w->dim(1))) {
      packed_ = pack(*w, wzp);
      has_packed_ = true;
    }
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Node& n = n_;
    const size_t required = float_out_ ? 6 : 8;
    for (size_t i = 0; i < required; ++i)
      TQ_CHECK(in.size() > i && in[i], "{}: input {} is required", n.describe(), i);
    const Tensor& x = *in[0];
    const Tensor& w = *in[3];
    TQ_CHECK(is_int8(x.dtype()) && is_int8(w.dtype()), "{}: input and weight must be uint8 or int8",
             n.describe());
    TQ_CHECK(x.rank() == 4 && w.rank() == 4 && w.dim(0) == x.dim(1), "{}: weight {} does not fit input {}",
             n.describe(), shape_str(w.shape()), shape_str(x.shape()));
    const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(1), KH = w.dim(2), KW = w.dim(3);
    const ConvTransposeGeometry g = conv_transpose_geometry(n, x.dim(2), x.dim(3), KH, KW);
    const int64_t HW = g.H * g.W, cols = M * KH * KW;
    TQ_CHECK(
        static_cast<double>(N) * static_cast<double>(HW) * static_cast<double>(cols) <= kMaxColumnEntries,
        "{}: {} images of {} columns × {} pixels are over the 2^28 column entries the runtime allocates",
        n.describe(), N, cols, HW);
    TQ_CHECK(in[2]->numel() == 1 && is_int8(in[2]->dtype()), "{}: x_zero_point must be an 8-bit scalar",
             n.describe());
    const float xs = scales(*in[1], n, "x_scale")[0];
    const std::vector<float> ws = scales(*in[4], n, "w_scale");
    TQ_CHECK(ws.size() == 1 || static_cast<int64_t>(ws.size()) == M, "{}: w_scale must have 1 or {} values",
             n.describe(), M);
    const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
    if (bias)
      TQ_CHECK(bias->dtype() == DType::I32 && bias->numel() == M, "{}: B must be int32[{}]", n.describe(), M);
    // Requantisation (QLinearConv's), or the float head's scale; one multiplier per w_scale value.
    QRequant rq;
    DType yt = DType::F32;
    if (!float_out_) {
      TQ_CHECK(in[7]->numel() == 1, "{}: y_zero_point must be a scalar", n.describe());
      rq = make_requant(n, xs, ws, scales(*in[6], n, "y_scale")[0], *in[7], act_lo_, act_hi_);
      yt = in[7]->dtype();
    } else {
      rq.mult = float_scales(xs, ws);
    }
    auto mult = [&rq](int64_t c) { return rq.mult[rq.mult.size() == 1 ? 0 : c]; };
    const int32_t zp = rq.zp, qlo = rq.qlo, qhi = rq.qhi;
    out[0] = Tensor::empty(yt, {N, M, g.OH, g.OW});
    if (out[0].numel() == 0) return;

    zero_points(in[5], M, n, "w_zero_point");  // 1 or M values
    TQ_CHECK(is_int8(in[5]->dtype()), "{}: w_zero_point must be uint8 or int8", n.describe());
    const QConvWeights local = has_packed_ ? QConvWeights{} : pack(w, in[5]);
    const QConvWeights& packed = has_packed_ ? packed_ : local;
    ConvGeometry pw;  // the pointwise convolution over the input pixels
    pw.C = C, pw.H = pw.OH = g.H, pw.W = pw.OW = g.W;
    const bool direct_out = g.tiles() && !float_out_;
    QConvArgs qa;
    qa.g = &pw;
    qa.N = N, qa.group = 1, qa.M = cols;
    qa.x = x.data<uint8_t>();
    qa.x_signed = x.dtype() == DType::I8;
    qa.xzp = int_at(*in[2], 0);
    qa.w_signed = w.dtype() == DType::I8;
    qa.packed = &packed;
    // Per GEMM row (co, ky, kx): its channel's bias and multiplier (direct_out), else int32 sums.
    std::vector<int32_t> row_bias;
    QRequant row_rq = rq;
    if (direct_out) {
      row_bias.resize(static_cast<size_t>(cols));
      row_rq.mult.resize(static_cast<size_t>(cols));
      for (int64_t r = 0; r < cols; ++r) {
        row_bias[r] = bias ? bias->data<int32_t>()[r / (KH * KW)] : 0;
        row_rq.mult[r] = mult(r / (KH * KW));
      }
      qa.bias = row_bias.data();
      qa.rq = &row_rq;
    }
    const size_t elem = direct_out ? 1 : 4;
    std::unique_ptr<uint8_t[]> col(
        new uint8_t[static_cast<size_t>(std::max<int64_t>(N * cols * HW, 1)) * elem]);
    qa.y = col.get();
    if (C > 0)
      qconv(qa, ctx.pool);
    else
      std::fill(col.get(), col.get() + N * cols * HW * elem, 0);  // no input channel: empty sums
    if (direct_out) {
      if (C == 0)  // the epilogue never ran: requantise the bias
        for (int64_t r = 0; r < cols; ++r)
          std::fill(col.get() + r * HW, col.get() + (r + 1) * HW,
                    static_cast<uint8_t>(requantize(row_bias[r], row_rq.mult[r], zp, qlo, qhi)));
      // col2im of bytes: output row iy·KH + ky interleaves the KW planes (co, ky, ·) of input row iy.
      uint8_t* y = out[0].data<uint8_t>();
      ctx.pool.parallel_for(N * M, {work::bytes(2.0 * static_cast<double>(out[0].numel()))},
                            [&](int64_t i0, int64_t i1, int) {
                              for (int64_t i = i0; i < i1; ++i)
                                for (int64_t iy = 0; iy < g.H; ++iy)
                                  for (int64_t ky = 0; ky < KH; ++ky) {
                                    uint8_t* yr = y + (i * g.OH + iy * KH + ky) * g.OW;
                                    const uint8_t* cr = col.get() + ((i * KH + ky) * KW * g.H + iy) * g.W;
                                    if (KW == 2) {  // vectorised (a byte loop took 10 ms of a U-Net run)
                                      interleave2(cr, cr + HW, g.W, yr);
                                      continue;
                                    }
                                    for (int64_t kx = 0; kx < KW; ++kx, cr += HW)
                                      for (int64_t ix = 0; ix < g.W; ++ix) yr[ix * KW + kx] = cr[ix];
                                  }
                            });
      return;
    }
    const int32_t* col32 = reinterpret_cast<const int32_t*>(col.get());
    const int64_t plane = g.OH * g.OW;
    ctx.pool.parallel_for(
        N * M, {work::bytes(8.0 * static_cast<double>(N * cols * HW))}, [&](int64_t i0, int64_t i1, int) {
          std::vector<int32_t> acc(static_cast<size_t>(plane));
          for (int64_t i = i0; i < i1; ++i) {
            const int64_t co = i % M;
            std::fill(acc.begin(), acc.end(), bias ? bias->data<int32_t>()[co] : 0);
            col2im_add(g, col32 + i * KH * KW * HW, acc.data());
            if (float_out_) {
              float* y = out[0].data<float>() + i * plane;
              for (int64_t k = 0; k < plane; ++k)
                y[k] = std::min(std::max(static_cast<float>(acc[k]) * mult(co), act_lo_), act_hi_);
            } else if (yt == DType::U8) {
              uint8_t* y = out[0].data<uint8_t>() + i * plane;
              for (int64_t k = 0; k < plane; ++k)
                y[k] = static_cast<uint8_t>(requantize(acc[k], mult(co), zp, qlo, qhi));
            } else {
              int8_t* y = out[0].data<int8_t>() + i * plane;
              for (int64_t k = 0; k < plane; ++k)
                y[k] = static_cast<int8_t>(requantize(acc[k], mult(co), zp, qlo, qhi));
            }
          }
        });
  }

 private:
  // The weights as a pointwise convolution's: row (co, ky, kx) holds w[·, co, ky, kx] over the input
  // channels, with its output channel's zero point.
  static QConvWeights pack(const Tensor& w, const Tensor* zp) {
    const int64_t C = w.dim(0), cout = w.dim(1), taps = w.dim(2) * w.dim(3), rows = cout * taps;
    std::vector<uint8_t> t(static_cast<size_t>(rows * C));
    const auto* src = static_cast<const uint8_t*>(w.raw());
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < rows; ++r) t[r * C + c] = src[c * rows + r];
    std::vector<int32_t> z(static_cast<size_t>(rows), 0);
    if (zp)
      for (int64_t r = 0; r < rows; ++r) z[r] = int_at(*zp, zp->numel() == 1 ? 0 : r / taps);
    return qpack_conv_weights(qgemm_kernel(), t.data(), w.dtype() == DType::I8, rows, C, 1, 1, 1, z,
                              /*allow_direct=*/false);
  }

  const Node& n_;
  bool float_out_;
  float act_lo_, act_hi_;
  bool has_packed_ = false;
  QConvWeights packed_;
};

}  // namespace

void register_qconv_transpose_ops(KernelRegistry& r) {
  r["QLinearConvTranspose"] = [](const KernelInit& init) {
    return std::make_unique<QConvTransposeKernel>(init);
  };
}

}  // namespace tinyqat
