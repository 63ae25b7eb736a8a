#include "runtime/kernel.h"

namespace tinyqat {

namespace {
class LambdaKernel : public Kernel {
 public:
  explicit LambdaKernel(KernelFn fn) : fn_(std::move(fn)) {}
  void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) override {
    fn_(ctx, in, out);
  }

 private:
  KernelFn fn_;
};
}  // namespace

std::unique_ptr<Kernel> make_kernel(KernelFn fn) {
  return std::make_unique<LambdaKernel>(std::move(fn));
}

void expect_dtype(const Node& n, const Tensor& t, DType want, const char* what) {
  TQ_CHECK(t.dtype() == want, "{}: {} must be {}, got {}", n.describe(), what, dtype_name(want),
           dtype_name(t.dtype()));
}

const KernelRegistry& kernel_registry() {
  static const KernelRegistry r = [] {
    KernelRegistry m;
    register_elementwise_ops(m);
    register_conv_ops(m);
    register_matmul_ops(m);
    register_pool_ops(m);
    register_shape_ops(m);
    register_quant_ops(m);
    register_qlinear_binary_ops(m);
    register_qconv_transpose_ops(m);
    return m;
  }();
  return r;
}

}  // namespace tinyqat
