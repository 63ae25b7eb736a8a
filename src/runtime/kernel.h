// The life of an operator in the runtime (XNNPACK's create → reshape → setup → run): created once per
// node (validate attributes, pack constant weights, precompute what depends on constants only, such as
// requantisation parameters), prepared once per input shape (layouts, tiling: `prepare`), then run many
// times with that plan. Kernels allocate their outputs; the executor owns every value.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/thread_pool.h"

namespace tinyqat {

// What a kernel planned for one set of input shapes. Immutable once made: concurrent runs share it.
struct KernelPlan {
  virtual ~KernelPlan() = default;
};

struct RunContext {
  ThreadPool& pool;
  const KernelPlan* plan = nullptr;  // prepare()'s plan for the shapes of this run's inputs, or null
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Whether prepare() plans anything; the executor skips the shape check for kernels that don't.
  virtual bool prepares() const { return false; }
  // Reshape: the plan for the shapes (and dtypes) of `in` — values are not read, except constants. The
  // executor calls it when a step's input shapes differ from those of the plan it holds and passes the
  // plan to run() in ctx.plan; run() plans for itself when ctx.plan is null.
  virtual std::shared_ptr<const KernelPlan> prepare(RunContext& ctx, const std::vector<const Tensor*>& in) {
    return nullptr;
  }
  // `in[i]` is nullptr for an omitted optional input. `out` has one slot per node output.
  virtual void run(RunContext& ctx, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) = 0;
};

// What a kernel factory sees: the node, and the constant value of each input when it is one.
struct KernelInit {
  const Node& node;
  int64_t opset;
  std::vector<const Tensor*> constants;  // per input: initializer/Constant value, or nullptr
  const Tensor* constant(size_t i) const { return i < constants.size() ? constants[i] : nullptr; }
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInit&)>;
using KernelRegistry = std::unordered_map<std::string, KernelFactory>;

// Each ops/*.cpp file contributes its operators here.
void register_elementwise_ops(KernelRegistry& r);
void register_conv_ops(KernelRegistry& r);
void register_matmul_ops(KernelRegistry& r);
void register_pool_ops(KernelRegistry& r);
void register_shape_ops(KernelRegistry& r);
void register_quant_ops(KernelRegistry& r);
void register_qlinear_binary_ops(KernelRegistry& r);
void register_qconv_transpose_ops(KernelRegistry& r);
const KernelRegistry& kernel_registry();

// A kernel written as a lambda: for simple ops that need no state.
using KernelFn = std::function<void(RunContext&, const std::vector<const Tensor*>&, std::vector<Tensor>&)>;
std::unique_ptr<Kernel> make_kernel(KernelFn fn);

// Checks used by kernels at run time.
void expect_dtype(const Node& n, const Tensor& t, DType want, const char* what);

}  // namespace tinyqat
