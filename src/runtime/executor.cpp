#include "runtime/executor.h"

#include <chrono>
#include <unordered_map>

#include "core/error.h"
#include "runtime/fuse.h"

namespace tinyqat {

Executor::~Executor() = default;

Executor::Executor(Model model, ExecutorOptions opts) : model_(std::move(model)) {
  pool_ = std::make_unique<ThreadPool>(opts.threads);
  parallel_ = opts.parallel;
  chooser_ = std::make_unique<RunModeChooser>(parallel_ == Parallel::Auto ? pool_->size() : 1);
  profile_ = opts.profile;
  trace_ = opts.profile && opts.trace;
  fuse_qdq_for_runtime(model_.graph);
  fuse_for_runtime(model_.graph);
  const Graph& g = model_.graph;
  std::unordered_map<std::string, int> slot;
  auto slot_of = [&](const std::string& name) {
    auto it = slot.find(name);
    if (it != slot.end()) return it->second;
    slot[name] = num_slots_;
    constants_.emplace_back();
    is_constant_.push_back(false);
    return num_slots_++;
  };
  for (const auto& v : g.inputs) input_slots_.push_back(slot_of(v.name));
  for (const auto& [name, t] : g.initializers) {
    int s = slot_of(name);
    constants_[s] = t;
    is_constant_[s] = true;
  }
  const auto& reg = kernel_registry();
  for (const auto& n : g.nodes) {
    Step st;
    st.node = &n;
    KernelInit init{n, model_.opset, {}};
    for (const auto& in : n.inputs) {
      if (in.empty()) {
        st.in_slots.push_back(-1);
        init.constants.push_back(nullptr);
        continue;
      }
      TQ_CHECK(slot.count(in), "{} reads value '{}' before it is produced", n.describe(), in);
      int s = slot.at(in);
      st.in_slots.push_back(s);
      init.constants.push_back(is_constant_[s] ? &constants_[s] : nullptr);
    }
    auto it = reg.find(n.op_type);
    TQ_CHECK(n.domain.empty() && it != reg.end(), "operator '{}' ({}) has no runtime kernel", n.op_type,
             n.describe());
    st.kernel = it->second(init);
    if (st.kernel->prepares()) st.plans = std::make_unique<PlanCache>();
    for (const auto& o : n.outputs) st.out_slots.push_back(o.empty() ? -1 : slot_of(o));
    // A Constant's value is known now: treat it like an initializer so later kernels can pack it.
    if (n.op_type == "Constant") {
      int s = st.out_slots[0];
      constants_[s] = constant_node_value(n);
      is_constant_[s] = true;
      continue;
    }
    steps_.push_back(std::move(st));
  }
  for (const auto& o : g.outputs) {
    TQ_CHECK(slot.count(o.name), "graph output '{}' is never produced", o.name);
    output_slots_.push_back(slot.at(o.name));
  }
  // Free each computed value right after its last reader (outputs are kept).
  std::vector<int> last_use(num_slots_, -1);
  for (size_t i = 0; i < steps_.size(); ++i)
    for (int s : steps_[i].in_slots)
      if (s >= 0) last_use[s] = static_cast<int>(i);
  for (int s : output_slots_) last_use[s] = -1;
  for (int s = 0; s < num_slots_; ++s)
    if (last_use[s] >= 0 && !is_constant_[s]) steps_[last_use[s]].free_after.push_back(s);
}

// The run-mode chooser's key: FNV-1a over the input shapes' ranks and dims, one shape at a time.
constexpr uint64_t kSignatureSeed = 1469598103934665603ull;
static uint64_t mix_shape(uint64_t h, const Shape& s) {
  auto mix = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  mix(s.size());
  for (int64_t d : s) mix(static_cast<uint64_t>(d));
  return h;
}
static uint64_t shape_signature(const std::vector<Shape>& shapes) {
  uint64_t h = kSignatureSeed;
  for (const auto& s : shapes) h = mix_shape(h, s);
  return h;
}

ThreadPool::RunMode Executor::run_mode(const std::vector<Shape>& input_shapes) const {
  if (parallel_ == Parallel::Caller) return ThreadPool::RunMode::Caller;
  if (parallel_ == Parallel::Pool) return ThreadPool::RunMode::Pool;
  return chooser_->chosen(shape_signature(input_shapes));
}

bool Executor::run_mode_settled(const std::vector<std::pair<std::string, Tensor>>& inputs) const {
  if (parallel_ != Parallel::Auto || pool_->size() <= 1) return true;
  std::vector<Shape> shapes;
  for (const auto& vi : model_.graph.inputs)
    for (const auto& [name, t] : inputs)
      if (name == vi.name) shapes.push_back(t.shape());
  return chooser_->decided(shape_signature(shapes));
}

static void check_input(const ValueInfo& vi, const Tensor& t) {
  bool ok = t.dtype() == vi.dtype;
  if (vi.has_shape) {
    ok = ok && static_cast<size_t>(t.rank()) == vi.shape.size();
    for (size_t i = 0; ok && i < vi.shape.size(); ++i)
      if (vi.shape[i].is_known() && vi.shape[i].value != t.shape()[i]) ok = false;
  }
  TQ_CHECK(ok, "input '{}': expected {} {}, got {} {}", vi.name, dtype_name(vi.dtype), vi.shape_str(),
           dtype_name(t.dtype()), shape_str(t.shape()));
}

std::vector<Tensor> Executor::run(const std::vector<std::pair<std::string, Tensor>>& inputs) {
  BufferPool::Scope scope(buffers_);
  // Computed values and inputs live in `values`; constants are read in place (copying a Tensor costs an
  // allocation and two atomic reference counts, per constant, per run). `value[s]` is what slot s holds.
  std::vector<Tensor> values(num_slots_);
  std::vector<const Tensor*> value(num_slots_);
  for (int s = 0; s < num_slots_; ++s) value[s] = is_constant_[s] ? &constants_[s] : &values[s];
  const auto& gin = model_.graph.inputs;
  std::vector<bool> given(gin.size(), false);
  for (const auto& [name, t] : inputs) {
    size_t i = 0;
    while (i < gin.size() && gin[i].name != name) ++i;
    TQ_CHECK(i < gin.size(), "the model has no input named '{}'", name);
    TQ_CHECK(!given[i], "input '{}' given twice", name);
    check_input(gin[i], t);
    values[input_slots_[i]] = t;
    value[input_slots_[i]] = &values[input_slots_[i]];  // an input named like an initializer overrides it
    given[i] = true;
  }
  for (size_t i = 0; i < gin.size(); ++i) TQ_CHECK(given[i], "input '{}' is missing", gin[i].name);

  uint64_t sig = 0;
  if (parallel_ == Parallel::Auto && pool_->size() > 1) {
    sig = kSignatureSeed;
    for (int s : input_slots_) sig = mix_shape(sig, value[s]->shape());
  }
  RunModeChooser::Ticket ticket = chooser_->start(sig);
  if (parallel_ == Parallel::Caller) ticket.mode = ThreadPool::RunMode::Caller;
  const bool caller = ticket.mode == ThreadPool::RunMode::Caller;
  const auto run_start = std::chrono::steady_clock::now();
  ThreadPool::RunScope in_run(
      *pool_, !caller && (ticket.first_of_block || last_run_ns_.load() >= ThreadPool::kWakeNs), ticket.mode);
  RunContext ctx{*pool_};
  std::vector<const Tensor*> in;
  std::vector<Tensor> out;
  std::shared_ptr<const KernelPlan> plan;
  for (auto& st : steps_) {
    in.clear();
    for (int s : st.in_slots) in.push_back(s >= 0 ? value[s] : nullptr);
    out.assign(st.out_slots.size(), Tensor());
    plan = st.plans ? plan_for(st, ctx, in) : nullptr;
    ctx.plan = plan.get();
    if (profile_) {
      auto t0 = std::chrono::steady_clock::now();
      st.kernel->run(ctx, in, out);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const double start_us = std::chrono::duration<double, std::micro>(t0 - epoch_).count();
      std::lock_guard<std::mutex> lock(profile_mu_);
      st.total_ms += ms;
      ++st.runs;
      if (trace_) events_.push_back({&st, start_us, ms * 1000.0});
    } else {
      st.kernel->run(ctx, in, out);
    }
    for (size_t i = 0; i < st.out_slots.size(); ++i)
      if (const int s = st.out_slots[i]; s >= 0) {
        values[s] = std::move(out[i]);
        value[s] = &values[s];
      }
    for (int s : st.free_after) values[s] = Tensor();
  }
  std::vector<Tensor> result;
  for (int s : output_slots_) result.push_back(*value[s]);
  const int64_t run_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - run_start)
          .count();
  last_run_ns_.store(run_ns);
  chooser_->finish(sig, ticket, run_ns);
  return result;
}

std::shared_ptr<const KernelPlan> Executor::plan_for(Step& st, RunContext& ctx,
                                                     const std::vector<const Tensor*>& in) {
  auto same_shapes = [&](const std::vector<Shape>& shapes) {
    if (shapes.size() != in.size()) return false;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i] ? shapes[i] != in[i]->shape() : !shapes[i].empty()) return false;
    return true;
  };
  {
    std::lock_guard<std::mutex> lock(st.plans->mutex);
    if (st.plans->plan && same_shapes(st.plans->shapes)) return st.plans->plan;
  }
  // A new shape (or the first run): plan outside the lock; concurrent runs of another shape keep theirs.
  auto plan = st.kernel->prepare(ctx, in);
  ++plans_made_;
  std::vector<Shape> shapes;
  for (const Tensor* t : in) shapes.push_back(t ? t->shape() : Shape{});
  std::lock_guard<std::mutex> lock(st.plans->mutex);
  st.plans->shapes = std::move(shapes);
  st.plans->plan = plan;
  return plan;
}

std::vector<NodeProfile> Executor::profile() const {
  std::vector<NodeProfile> r;
  if (!profile_) return r;
  std::lock_guard<std::mutex> lock(profile_mu_);
  for (const auto& st : steps_) r.push_back({st.node->name, st.node->op_type, st.total_ms, st.runs});
  return r;
}

std::vector<NodeEvent> Executor::node_events() const {
  std::lock_guard<std::mutex> lock(profile_mu_);
  std::vector<NodeEvent> r;
  r.reserve(events_.size());
  for (const Event& e : events_)
    r.push_back({e.step->node->name, e.step->node->op_type, e.start_us, e.dur_us});
  return r;
}

void Executor::reset_profile() {
  std::lock_guard<std::mutex> lock(profile_mu_);
  events_.clear();
  for (auto& st : steps_) {
    st.total_ms = 0;
    st.runs = 0;
  }
}

}  // namespace tinyqat
