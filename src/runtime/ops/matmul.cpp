// Gemm and MatMul on the packed sgemm. A constant right-hand side (the usual weight) is packed once.
#include <algorithm>

#include "ir/op_math.h"
#include "runtime/fuse.h"
#include "runtime/kernel.h"
#include "runtime/kernels/sgemm.h"

namespace tinyqat {
namespace {

// Y[M,N] = A[M,K]·B[K,N] for one matrix, A and B given by element strides.
struct MatView {
  const float* p;
  int64_t rs, cs;  // row stride, column stride
};

void matmul_f32(RunContext& ctx, int64_t M, int64_t N, int64_t K, MatView a, MatView b,
                const PackedPanels* bpk, float* y, const float* bias_n, float lo = -__builtin_inff(),
                float hi = __builtin_inff()) {
  SgemmArgs g;
  g.M = M, g.N = N, g.K = K;
  g.a_direct = a.p;
  g.a_rs = a.rs, g.a_ks = a.cs;
  g.b = bpk ? prepacked_b(*bpk) : strided_b(b.p, b.rs, b.cs, N, K);
  g.C = y;
  g.rs_c = N;
  g.bias_n = bias_n;
  g.lo = lo, g.hi = hi;
  sgemm(g, ctx.pool);
}

// N = 1 (a regression head: Linear(K→1)): one dot product per row. The packed GEMM would pad the single
// output column to a full register tile; eight float lanes per row instead (vmaf_tiny's 16→1 head at
// batch 4096: 47 → ~10 µs).
void gemv_rows(const float* a, int64_t M, int64_t K, int64_t lda, const float* w, float bias, float lo,
               float hi, float* y) {
  for (int64_t m = 0; m < M; ++m) {
    const float* r = a + m * lda;
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8)
      for (int j = 0; j < 8; ++j) s[j] += r[k + j] * w[k + j];
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; k < K; ++k) t += r[k] * w[k];
    y[m] = std::min(std::max(t + bias, lo), hi);
  }
}

class GemmF32 : public Kernel {
 public:
  explicit GemmF32(const KernelInit& init) : n_(init.node) {
    alpha_ = n_.get_float("alpha", 1.f);
    beta_ = n_.get_float("beta", 1.f);
    lo_ = n_.get_float(kActMin, -__builtin_inff());
    hi_ = n_.get_float(kActMax, __builtin_inff());
    ta_ = n_.get_int("transA", 0) != 0;
    tb_ = n_.get_int("transB", 0) != 0;
    const Tensor* b = init.constant(1);
    if (b && b->dtype() == DType::F32 && b->rank() == 2) {
      int64_t K = tb_ ? b->dim(1) : b->dim(0), N = tb_ ? b->dim(0) : b->dim(1);
      // Column j of op(B) as a packed row: element (j, k).
      std::vector<float> scaled;
      const float* src = b->data<float>();
      if (alpha_ != 1.f) {
        scaled.assign(src, src + b->numel());
        for (auto& v : scaled) v *= alpha_;
        src = scaled.data();
      }
      packed_ = pack_all(src, tb_ ? K : 1, tb_ ? 1 : N, N, K, sgemm_kernel().nr);
      has_packed_ = true;
      if (N == 1) w_col_.assign(src, src + K);  // op(B) is one column: contiguous either way
    }
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    expect_dtype(n_, a, DType::F32, "input A");
    expect_dtype(n_, b, DType::F32, "input B");
    TQ_CHECK(a.rank() == 2 && b.rank() == 2, "{}: A and B must be 2-D, got {} and {}", n_.describe(),
             shape_str(a.shape()), shape_str(b.shape()));
    const int64_t M = ta_ ? a.dim(1) : a.dim(0), K = ta_ ? a.dim(0) : a.dim(1);
    const int64_t Kb = tb_ ? b.dim(1) : b.dim(0), N = tb_ ? b.dim(0) : b.dim(1);
    TQ_CHECK(K == Kb, "{}: inner dimensions differ: A {} B {} (transA={}, transB={})", n_.describe(),
             shape_str(a.shape()), shape_str(b.shape()), ta_, tb_);
    out[0] = Tensor::empty(DType::F32, {M, N});
    float* y = out[0].data<float>();
    const Tensor* c = in.size() > 2 ? in[2] : nullptr;
    const float* bias_n = nullptr;  // C of shape [N] or [1,N] with beta 1: added inside the kernel
    if (c) {
      expect_dtype(n_, *c, DType::F32, "input C");
      Shape cs = broadcast_shapes(c->shape(), {M, N}, n_.describe());
      TQ_CHECK(cs == Shape({M, N}), "{}: C {} does not broadcast to [{},{}]", n_.describe(),
               shape_str(c->shape()), M, N);
      bool per_col = c->numel() == N && (c->rank() == 1 || (c->rank() == 2 && c->dim(0) == 1));
      if (per_col && N > 1 && beta_ == 1.f && (alpha_ == 1.f || has_packed_)) bias_n = c->data<float>();
    }
    if (N == 1 && !ta_ && !w_col_.empty() && (!c || c->numel() == 1)) {
      gemv_rows(a.data<float>(), M, K, a.dim(1), w_col_.data(), c ? beta_ * c->data<float>()[0] : 0.f, lo_,
                hi_, y);
      return;
    }
    MatView av{a.data<float>(), ta_ ? 1 : a.dim(1), ta_ ? a.dim(1) : 1};
    MatView bv{b.data<float>(), tb_ ? 1 : b.dim(1), tb_ ? b.dim(1) : 1};
    if (alpha_ != 1.f && !has_packed_) {
      // Rare: scale the product after the fact.
      matmul_f32(ctx, M, N, K, av, bv, nullptr, y, nullptr);
      for (int64_t i = 0; i < M * N; ++i) y[i] *= alpha_;
    } else {
      matmul_f32(ctx, M, N, K, av, bv, has_packed_ ? &packed_ : nullptr, y, bias_n,
                 bias_n || !c ? lo_ : -__builtin_inff(), bias_n || !c ? hi_ : __builtin_inff());
    }
    if (c && !bias_n) {
      // General C: add beta·C with broadcasting.
      const float* cp = c->data<float>();
      Shape csh = c->shape();
      while (csh.size() < 2) csh.insert(csh.begin(), 1);
      const int64_t cr = csh[0], cc = csh[1];
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j)
          y[i * N + j] += beta_ * cp[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
    }
    if ((c && !bias_n) || (alpha_ != 1.f && !has_packed_))  // activation not applied inside the kernel
      for (int64_t i = 0; i < M * N; ++i) y[i] = std::min(std::max(y[i], lo_), hi_);
  }

 private:
  const Node& n_;
  float alpha_, beta_, lo_, hi_;
  bool ta_, tb_;
  bool has_packed_ = false;
  PackedPanels packed_;
  std::vector<float> w_col_;  // N = 1: alpha · op(B) as K floats
};

class MatMulF32 : public Kernel {
 public:
  explicit MatMulF32(const KernelInit& init) : n_(init.node) {
    const Tensor* b = init.constant(1);
    if (b && b->dtype() == DType::F32 && b->rank() == 2) {
      packed_ = pack_all(b->data<float>(), 1, b->dim(1), b->dim(1), b->dim(0), sgemm_kernel().nr);
      has_packed_ = true;
    }
  }

  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    const Tensor& a = *in[0];
    const Tensor& b = *in[1];
    expect_dtype(n_, a, DType::F32, "input A");
    expect_dtype(n_, b, DType::F32, "input B");
    TQ_CHECK(a.rank() >= 1 && b.rank() >= 1, "{}: inputs must not be scalars", n_.describe());
    Shape as = a.shape(), bs = b.shape();
    const bool a1 = as.size() == 1, b1 = bs.size() == 1;
    if (a1) as.insert(as.begin(), 1);
    if (b1) bs.push_back(1);
    const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
    TQ_CHECK(bs[bs.size() - 2] == K, "{}: inner dimensions differ: {} x {}", n_.describe(),
             shape_str(a.shape()), shape_str(b.shape()));
    Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
    Shape batch = broadcast_shapes(abatch, bbatch, n_.describe());
    Shape ys = batch;
    if (!a1) ys.push_back(M);
    if (!b1) ys.push_back(N);
    out[0] = Tensor::empty(DType::F32, ys);
    int64_t nb = 1;
    for (auto d : batch) nb *= d;
    // Batch index → offsets into a and b (broadcast).
    const int r = static_cast<int>(batch.size());
    std::vector<int64_t> idx(r, 0);
    for (int64_t bi = 0; bi < nb; ++bi) {
      int64_t ao = 0, bo = 0, astr = M * K, bstr = K * N;
      for (int i = r - 1; i >= 0; --i) {
        int ia = i - (r - static_cast<int>(abatch.size())), ib = i - (r - static_cast<int>(bbatch.size()));
        if (ia >= 0) {
          if (abatch[ia] != 1) ao += idx[i] * astr;
          astr *= abatch[ia];
        }
        if (ib >= 0) {
          if (bbatch[ib] != 1) bo += idx[i] * bstr;
          bstr *= bbatch[ib];
        }
      }
      MatView av{a.data<float>() + ao, K, 1};
      MatView bv{b.data<float>() + bo, N, 1};
      matmul_f32(ctx, M, N, K, av, bv, has_packed_ && b.rank() == 2 ? &packed_ : nullptr,
                 out[0].data<float>() + bi * M * N, nullptr);
      for (int i = r - 1; i >= 0; --i) {
        if (++idx[i] < batch[i]) break;
        idx[i] = 0;
      }
    }
  }

 private:
  const Node& n_;
  bool has_packed_ = false;
  PackedPanels packed_;
};

}  // namespace

void register_matmul_ops(KernelRegistry& r) {
  r["Gemm"] = [](const KernelInit& init) { return std::make_unique<GemmF32>(init); };
  r["MatMul"] = [](const KernelInit& init) { return std::make_unique<MatMulF32>(init); };
}

}  // namespace tinyqat
