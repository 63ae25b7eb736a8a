// Runs a Model on the CPU. Built once (kernels created, weights packed); run() may be called many
// times, with any batch size the graph's symbolic dims allow. Deterministic for a fixed thread count.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "runtime/kernel.h"
#include "runtime/run_mode.h"

namespace tinyqat {

// How runs use threads > 1: Auto measures per input shape whether splitting sections over the pool or
// running them all on the calling thread is faster (run_mode.h); Pool and Caller force one. Same bits.
enum class Parallel { Auto, Pool, Caller };

struct ExecutorOptions {
  int threads = 1;       // worker threads per run; 0: all cores (std::thread::hardware_concurrency)
  bool profile = false;  // accumulate time per node (see profile())
  bool trace = false;    // with profile: also keep every node run (see node_events())
  Parallel parallel = Parallel::Auto;
};

struct NodeProfile {
  std::string node, op_type;
  double total_ms = 0;
  int64_t runs = 0;
};

// One node of one run (ExecutorOptions::profile): start and duration in µs since the executor was built.
struct NodeEvent {
  std::string node, op_type;
  double start_us = 0, dur_us = 0;
};

class Executor {
 public:
  explicit Executor(Model model, ExecutorOptions opts = {});
  ~Executor();

  const std::vector<ValueInfo>& inputs() const { return model_.graph.inputs; }
  const std::vector<ValueInfo>& outputs() const { return model_.graph.outputs; }
  const Model& model() const { return model_; }

  // Inputs by name (all graph inputs are required); returns outputs in graph-output order.
  // Throws Error when a name, dtype or shape does not match the graph.
  std::vector<Tensor> run(const std::vector<std::pair<std::string, Tensor>>& inputs);
  // How many times a kernel planned for new input shapes (Kernel::prepare), over all runs.
  int64_t plans_made() const { return plans_made_.load(); }
  // Per-node times accumulated over runs (empty unless ExecutorOptions::profile).
  std::vector<NodeProfile> profile() const;
  // Every node run since the last reset_profile(), in the order they ran (empty unless profiling).
  std::vector<NodeEvent> node_events() const;
  // Forgets the times and events so far (e.g. those of warm-up runs).
  void reset_profile();
  // The mode runs with these input shapes use now (Auto: the latest measurement's choice).
  ThreadPool::RunMode run_mode(const std::vector<Shape>& input_shapes) const;
  // Whether runs of these inputs (any order) use a chosen mode now: false while Auto has not finished
  // measuring their shapes (or measures them again); true for Pool, Caller and one thread.
  bool run_mode_settled(const std::vector<std::pair<std::string, Tensor>>& inputs) const;

 private:
  // The plan a step's kernel made for the input shapes it last saw (Kernel::prepare).
  struct PlanCache {
    std::mutex mutex;
    std::vector<Shape> shapes;
    std::shared_ptr<const KernelPlan> plan;
  };
  struct Step {
    const Node* node;
    std::unique_ptr<Kernel> kernel;
    std::unique_ptr<PlanCache> plans;  // kernels that prepare()
    std::vector<int> in_slots, out_slots;
    std::vector<int> free_after;  // slots whose last use is this step
    double total_ms = 0;          // guarded by profile_mu_
    int64_t runs = 0;             // guarded by profile_mu_
  };
  bool profile_ = false, trace_ = false;
  mutable std::mutex profile_mu_;  // concurrent runs add their node times under it
  struct Event {
    const Step* step;
    double start_us, dur_us;
  };
  std::vector<Event> events_;  // guarded by profile_mu_
  std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
  Model model_;
  std::unique_ptr<ThreadPool> pool_;
  Parallel parallel_ = Parallel::Auto;
  std::unique_ptr<RunModeChooser> chooser_;
  std::shared_ptr<BufferPool> buffers_ = std::make_shared<BufferPool>();  // reused across runs
  std::vector<Step> steps_;
  std::vector<Tensor> constants_;  // slot → constant value (undefined for computed values)
  std::vector<bool> is_constant_;
  std::vector<int> input_slots_, output_slots_;
  int num_slots_ = 0;
  std::atomic<int64_t> plans_made_{0};
  std::atomic<int64_t> last_run_ns_{0};  // the latest run's wall time (wakes the pool's workers: RunScope)
  std::shared_ptr<const KernelPlan> plan_for(Step& st, RunContext& ctx, const std::vector<const Tensor*>& in);
};

}  // namespace tinyqat
