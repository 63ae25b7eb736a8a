// The life of an operator in the runtime: created once per node (validate attributes, pack constant
// weights), then run many times. Kernels allocate their outputs; the executor owns every value.
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

struct RunContext {
  ThreadPool& pool;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
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
const KernelRegistry& kernel_registry();

// A kernel written as a lambda: for simple ops that need no state.
using KernelFn = std::function<void(RunContext&, const std::vector<const Tensor*>&, std::vector<Tensor>&)>;
std::unique_ptr<Kernel> make_kernel(KernelFn fn);

// Checks used by kernels at run time.
void expect_dtype(const Node& n, const Tensor& t, DType want, const char* what);

}  // namespace tinyqat
