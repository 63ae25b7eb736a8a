#include "train/distributed.h"

#include <gloo/allreduce_ring.h>
#include <gloo/allreduce_ring_chunked.h>
#include <gloo/rendezvous/context.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"

namespace tinyqat::train::dist {

namespace {

using Clock = std::chrono::steady_clock;

// The joined job. Never destroyed: Gloo's threads may still hold it while the process exits after an
// error, and a destructor waiting for them would turn a clean exit 2 into a hang.
//
// The all-reduces run on `sync`, a Gloo context of their own whose connections are in Gloo's synchronous
// mode: the calling thread sends and reads the socket itself. ProcessGroupGloo hands every collective to
// its worker thread, whose receives complete on Gloo's event-loop thread; on this 2-vCPU host those
// hand-offs made an all-reduce of 2 floats between 2 idle ranks cost ~400 us, against ~35 us on the
// calling thread (docs/decisions/0007-small-collectives.md). The training step's collectives are small and
// latency-bound (one per observed tensor while observers are live), and the trainer waits for each one.
// The process group remains for the broadcast of the initial state.
struct Job {
  Env env;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::shared_ptr<gloo::rendezvous::Context> sync;
  CommStats stats;
};
Job* job = nullptr;

// A whole environment variable as an integer; nullopt when unset.
std::optional<long long> env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  TQ_CHECK(*v != '\0' && end && *end == '\0' && errno == 0, "environment: {}='{}' is not an integer", name,
           v);
  return x;
}

// The job being joined, for on_terminate (set before the rendezvous: `job` is set after it), and where
// its message goes (the real standard error while QuietStderr holds it).
Env g_env;
std::atomic<int> g_stderr_fd{STDERR_FILENO};
std::atomic<bool> g_joining{false};  // inside init's rendezvous

// An exception that leaves one of LibTorch's or Gloo's own threads (a TCPStore client reading a reply
// from a server that is not this job's rank 0, a Gloo event loop) would abort the process (SIGABRT):
// one line and exit 2 instead. Installed for distributed runs only.
[[noreturn]] void on_terminate() {
  std::string what = "an unknown failure";
  if (const auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
  }
  what = what.substr(0, what.find('\n'));
  std::fflush(stderr);
  if (g_joining.load())
    dprintf(g_stderr_fd.load(),
            "tinyqat: error: distributed: rank %d of %d: %s (while joining the job; is %s:%d this job's rank "
            "0?)\n",
            g_env.rank, g_env.world_size, what.c_str(), g_env.master_addr.c_str(), g_env.master_port);
  else
    dprintf(g_stderr_fd.load(), "tinyqat: error: distributed: rank %d of %d: unexpected failure: %s\n",
            g_env.rank, g_env.world_size, what.c_str());
  std::_Exit(2);
}

// While alive, the process's standard error goes to /dev/null: c10d logs its retries through glog
// ("Logging before InitGoogleLogging", socket warnings) during a failed rendezvous, and the user gets
// one line, ours, which carries c10d's own message.
class QuietStderr {
 public:
  QuietStderr() : saved_(dup(STDERR_FILENO)) {
    const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    std::fflush(stderr);
    if (saved_ >= 0 && null >= 0) {
      g_stderr_fd.store(saved_);
      dup2(null, STDERR_FILENO);
    }
    if (null >= 0) close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    g_stderr_fd.store(STDERR_FILENO);
    close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_;
};

// What a failed collective means to the user: one line, naming this rank and the likely cause.
template <class F>
void collective(const char* what, F&& f) {
  const auto t0 = Clock::now();
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    fail(
        "distributed: rank {} of {}: {} failed: {} (another rank exited or did not answer within {} s; "
        "TINYQAT_DIST_TIMEOUT sets the limit)",
        job->env.rank, job->env.world_size, what, msg, job->env.timeout.count());
  }
  job->stats.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  ++job->stats.calls;
}

enum class Reduce { Sum, Max };

// In place on `t`, on the calling thread (Job). A sum is reduce-scatter + all-gather (Gloo's chunked
// ring): each element is added in one order, so every rank gets the same bits whatever the world size.
// A maximum is exact in any order: the plain ring, with fewer round trips.
template <class T>
void all_reduce_on(T* data, int64_t n, Reduce op) {
  const std::vector<T*> ptrs{data};
  if (op == Reduce::Max)
    gloo::AllreduceRing<T>(job->sync, ptrs, static_cast<int>(n), gloo::ReductionFunction<T>::max).run();
  else
    gloo::AllreduceRingChunked<T>(job->sync, ptrs, static_cast<int>(n), gloo::ReductionFunction<T>::sum)
        .run();
}

void all_reduce(torch::Tensor& t, Reduce op, const char* what) {
  if (!job || t.numel() == 0) return;
  TQ_CHECK(t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble,
           "distributed: {} of a {} tensor (float or double only)", what, c10::toString(t.scalar_type()));
  TQ_CHECK(t.numel() <= std::numeric_limits<int>::max(), "distributed: {} of {} values (at most 2^31-1)",
           what, t.numel());
  // Gloo reads and writes host memory: a CUDA or strided tensor goes through a contiguous CPU copy.
  const bool direct = t.device().is_cpu() && t.is_contiguous();
  torch::Tensor c = direct ? t : t.to(torch::kCPU).contiguous();
  collective(what, [&] {
    if (c.scalar_type() == torch::kFloat)
      all_reduce_on(c.data_ptr<float>(), c.numel(), op);
    else
      all_reduce_on(c.data_ptr<double>(), c.numel(), op);
  });
  if (!direct) t.copy_(c);
}

// Sum across ranks inside the autograd graph: the forward pass sums the values, the backward pass sums
// the gradients (each rank's loss depends on every rank's input through the sum).
struct AllReduceSumFn : torch::autograd::Function<AllReduceSumFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    auto y = x.clone();
    all_reduce_sum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list g) {
    auto y = g[0].contiguous().clone();
    all_reduce_sum(y);
    return {y};
  }
};

}  // namespace

Env read_env() {
  Env e;
  const auto rank = env_int("RANK"), world = env_int("WORLD_SIZE"), local = env_int("LOCAL_RANK");
  if (const auto t = env_int("TINYQAT_DIST_TIMEOUT")) {
    TQ_CHECK(*t >= 1 && *t <= 86400, "environment: TINYQAT_DIST_TIMEOUT={} must be 1..86400 seconds", *t);
    e.timeout = std::chrono::seconds(*t);
  }
  if (!rank && !world) return e;
  TQ_CHECK(world.has_value(), "environment: RANK is set but WORLD_SIZE is not (torchrun sets both)");
  TQ_CHECK(rank.has_value() || *world == 1,
           "environment: WORLD_SIZE={} is set but RANK is not (torchrun sets both)", *world);
  TQ_CHECK(*world >= 1 && *world <= 4096, "environment: WORLD_SIZE={} must be 1..4096", *world);
  const long long r = rank.value_or(0);
  TQ_CHECK(r >= 0 && r < *world, "environment: RANK={} must be in 0..WORLD_SIZE-1 (WORLD_SIZE={})", r,
           *world);
  const long long lr = local.value_or(r);
  TQ_CHECK(lr >= 0 && lr < *world, "environment: LOCAL_RANK={} must be in 0..WORLD_SIZE-1", lr);
  e.rank = static_cast<int>(r), e.world_size = static_cast<int>(*world), e.local_rank = static_cast<int>(lr);
  if (e.world_size == 1) return e;
  const char* addr = std::getenv("MASTER_ADDR");
  TQ_CHECK(addr && *addr, "environment: WORLD_SIZE={} needs MASTER_ADDR (rank 0's host)", e.world_size);
  e.master_addr = addr;
  const auto port = env_int("MASTER_PORT");
  TQ_CHECK(port.has_value(),
           "environment: WORLD_SIZE={} needs MASTER_PORT (a free TCP port on rank 0's host)", e.world_size);
  TQ_CHECK(*port >= 1 && *port <= 65535, "environment: MASTER_PORT={} must be 1..65535", *port);
  e.master_port = static_cast<int>(*port);
  return e;
}

void init(const Env& env) {
  if (!env.distributed() || job) return;
  // Gloo writes to its sockets on the calling thread: a peer that closed its end must give EPIPE (an
  // error naming this rank, exit 2), not SIGPIPE, which would end the process without a word.
  std::signal(SIGPIPE, SIG_IGN);
  g_env = env;
  std::set_terminate(on_terminate);
  auto* j = new Job{env, {}, {}, {}, {}};
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(env.timeout);
  const auto t0 = Clock::now();
  g_joining.store(true);
  try {
    QuietStderr quiet;
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<size_t>(env.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    j->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // GLOO_SOCKET_IFNAME picks the interface (as in PyTorch); on one host, the loopback; else the
    // address this host's name resolves to.
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    const bool local = env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0;
    opts->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                            : local           ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                              : c10d::ProcessGroupGloo::createDefaultDevice());
    opts->threads = 1;
    j->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(j->store, env.rank, env.world_size, opts);
    // The all-reduces' own context (Job): its keys under a prefix of their own in the same store.
    c10d::ProcessGroupGloo::GlooStore sync_store(
        c10::make_intrusive<c10d::PrefixStore>("tinyqat-sync", j->store));
    j->sync = std::make_shared<gloo::rendezvous::Context>(env.rank, env.world_size);
    j->sync->setTimeout(timeout);
    j->sync->connectFullMesh(sync_store, opts->devices.front());
    for (int r = 0; r < env.world_size; ++r)
      if (r != env.rank) j->sync->getPair(r)->setSync(true, false);  // blocking reads: no busy polling
  } catch (const std::exception& e) {
    std::string msg = e.what();
    fail(
        "distributed: rank {} of {} could not join the job at {}:{} (gave up after {:.0f} s): {} (every rank "
        "must start with the same MASTER_ADDR/MASTER_PORT/WORLD_SIZE; TINYQAT_DIST_TIMEOUT={} sets the "
        "limit)",
        env.rank, env.world_size, env.master_addr, env.master_port,
        std::chrono::duration<double>(Clock::now() - t0).count(), msg.substr(0, msg.find('\n')),
        env.timeout.count());
  }
  g_joining.store(false);
  job = j;
}

bool active() {
  return job != nullptr;
}
int rank() {
  return job ? job->env.rank : 0;
}
int world_size() {
  return job ? job->env.world_size : 1;
}

std::pair<int64_t, int64_t> share(int64_t n) {
  if (!job) return {0, n};
  const int64_t r = job->env.rank, w = job->env.world_size;
  return {n * r / w, n * (r + 1) / w};
}

void all_reduce_sum(torch::Tensor& t) {
  all_reduce(t, Reduce::Sum, "all-reduce (sum)");
}
void all_reduce_max(torch::Tensor& t) {
  all_reduce(t, Reduce::Max, "all-reduce (max)");
}

void broadcast(torch::Tensor& t, int root) {
  if (!job) return;
  collective("broadcast", [&] {
    std::vector<at::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    job->pg->broadcast(v, o)->wait();
  });
}

void all_reduce_sum(const std::vector<torch::Tensor>& tensors) {
  if (!job || tensors.empty()) return;
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.reshape({-1}));
  auto bucket = torch::cat(flat);
  all_reduce_sum(bucket);
  int64_t at = 0;
  for (const auto& t : tensors) {
    const int64_t n = t.numel();
    auto dst = t;
    dst.copy_(bucket.slice(0, at, at + n).view(t.sizes()));
    at += n;
  }
}

void reduce_range(float* lo, float* hi) {
  if (!job) return;
  // Two floats, once per observed tensor and step while observers are live: no tensor around them.
  float v[2] = {-*lo, *hi};
  collective("all-reduce (max)", [&] { all_reduce_on(v, 2, Reduce::Max); });
  *lo = -v[0], *hi = v[1];
}

void agree(const std::string& what, const std::string& value) {
  if (!job) return;
  // The value's 64-bit FNV-1a hash in four 16-bit pieces, each as p and −p: after a maximum over the
  // ranks both come back unchanged only when every rank holds the same piece.
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : value) h = (h ^ c) * 1099511628211ull;
  double p[8], mine[8];
  for (int i = 0; i < 4; ++i) p[i] = static_cast<double>((h >> (16 * i)) & 0xffff), p[4 + i] = -p[i];
  std::copy(p, p + 8, mine);
  collective("all-reduce (max)", [&] { all_reduce_on(p, 8, Reduce::Max); });
  TQ_CHECK(std::equal(p, p + 8, mine),
           "distributed: rank {} of {}: the ranks differ in {} (this rank: {}); start every rank with the "
           "same command line, config and data",
           job->env.rank, job->env.world_size, what, value);
}

torch::Tensor batch_norm_train(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& beta,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               double momentum, double eps) {
  if (!job) return torch::batch_norm(x, gamma, beta, running_mean, running_var, true, momentum, eps, false);
  // Per channel: the global count, sum and sum of squares in one collective, in double (the variance
  // as E[x²] − mean² needs it); then the normalisation as LibTorch's CPU kernel computes it
  // (x · α + (β − mean · α), α = γ / σ) so that one rank reproduces torch::batch_norm closely.
  const int64_t c = x.size(1);
  std::vector<int64_t> dims;  // every axis but the channels (a rank's share may hold no sample)
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != 1) dims.push_back(d);
  const double local_count = static_cast<double>(x.numel() / c);
  auto xd = x.to(torch::kDouble);
  auto packed = torch::cat(
      {xd.sum(dims), (xd * xd).sum(dims), torch::full({1}, local_count, xd.options().requires_grad(false))});
  packed = AllReduceSumFn::apply(packed);
  const double count = packed[2 * c].item<double>();
  TQ_CHECK(count > 0, "distributed: BatchNormalization over an empty global batch");
  auto mean_d = packed.slice(0, 0, c) / count;
  auto var_d = (packed.slice(0, c, 2 * c) / count - mean_d * mean_d).clamp_min(0);
  auto mean = mean_d.to(x.scalar_type()), invstd = torch::rsqrt(var_d + eps).to(x.scalar_type());
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = c;
  auto alpha = gamma.defined() ? invstd * gamma : invstd;
  auto shift = beta.defined() ? beta - mean * alpha : -mean * alpha;
  auto y = x * alpha.view(shape) + shift.view(shape);
  {
    torch::NoGradGuard ng;
    const double unbias = count > 1 ? count / (count - 1) : 1.0;
    if (running_mean.defined()) running_mean.mul_(1 - momentum).add_(mean.detach() * momentum);
    if (running_var.defined())
      running_var.mul_(1 - momentum).add_((var_d.detach() * (momentum * unbias)).to(x.scalar_type()));
  }
  return y;
}

CommStats take_comm_stats() {
  if (!job) return {};
  CommStats s = job->stats;
  job->stats = {};
  return s;
}

}  // namespace tinyqat::train::dist
