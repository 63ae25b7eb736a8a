// A fixed-size pool with static partitioning: the same thread count always splits a loop the same way,
// so results are deterministic for a fixed thread count.
//
// - Cost model: each parallel_for says how much work it holds (an estimate in nanoseconds of one core,
//   from MACs or bytes: see `work`); sections too small to pay for waking a worker run on the calling
//   thread, larger ones use as many parts as keep each part above kMinPartNs.
// - Spin-then-block: a worker that finished a part spins (bounded, kSpinNs, with a pause instruction)
//   waiting for the next one before it sleeps on its condition variable, so back-to-back operators of
//   one run do not pay a kernel wake-up each. A section below kWakeNs leaves sleeping workers asleep
//   (the caller and the spinning workers take its parts; none spinning: it runs on the caller alone).
// - Runs: a session run holds a RunScope. While one is in progress an idle worker keeps spinning (up to
//   kRunSpinNs of its own CPU time past its last part), so the operators of a run find it awake even when
//   none is big enough to wake it (a 224² MobileNet: no conv reaches kWakeNs, yet 2 threads take 0.6× the
//   time when the worker is awake); between runs it sleeps after kSpinNs as before. A run whose predecessor
//   took at least kWakeNs also wakes the sleeping workers as it starts (they come up while the first operator
//   runs on the caller).
// - Concurrent callers: one parallel_for owns the workers at a time; a caller that finds them busy (a
//   second thread running the same session, or a nested call) runs its parts one after the other on its
//   own thread, with the same chunking and worker indices, instead of queueing. Results are identical
//   either way.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tinyqat {

// Work estimates for ThreadPool::parallel_for, in nanoseconds of one core (this project's AVX-512
// machine; only their order of magnitude matters).
namespace work {
inline double f32_macs(double macs) {
  return macs / 40.0;
}  // vectorised fp32 GEMM/conv
inline double i8_macs(double macs) {
  return macs / 150.0;
}  // VNNI int8 GEMM/conv
inline double bytes(double b) {
  return b / 8.0;
}  // streaming element-wise passes
inline double scalar_ops(double ops) {
  return ops / 1.0;
}  // scalar loops (pooling windows)
constexpr double kUnknown = std::numeric_limits<double>::infinity();  // split over all threads
}  // namespace work

class ThreadPool {
 public:
  // `threads` <= 0: all cores (std::thread::hardware_concurrency()).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The thread count `threads` resolves to (<= 0: all cores, at least 1).
  static int resolve_threads(int threads);
  // Least estimated work per part: below 2 × this a section runs on the calling thread.
  static constexpr double kMinPartNs = 20000;
  // How long an idle worker spins before it sleeps.
  static constexpr int64_t kSpinNs = 50000;
  // Least estimated work for which a section wakes a sleeping worker: a futex wake plus the time a
  // sleeping (on a VM: halted) core takes to start. Measured on this project's 2-vCPU VM: a 37 µs conv
  // split over a spinning worker takes ~20 µs, over a sleeping one 90 µs. Spinning workers are used
  // from kMinPartNs on.
  static constexpr double kWakeNs = 200000;
  // How long an idle worker keeps spinning while a run is in progress (RunScope), in its own CPU time.
  static constexpr int64_t kRunSpinNs = 1000000;

  // How a run uses the pool: its sections split over the workers, or every section on the calling thread
  // (the workers left to sleep). Both compute the same bits.
  enum class RunMode { Pool, Caller };
  // Marks a session run in progress for its lifetime; `wake`: wake the sleeping workers now. In
  // RunMode::Caller the run's sections (on this thread) all run here, and the workers do not spin for it.
  class RunScope {
   public:
    RunScope(ThreadPool& pool, bool wake, RunMode mode = RunMode::Pool);
    ~RunScope();
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

   private:
    ThreadPool& pool_;
    RunMode mode_;
    const ThreadPool* outer_;  // the calling thread's caller-mode pool before this scope
  };

  int size() const { return threads_; }
  // Workers asleep right now (blocked after kSpinNs without work).
  int sleeping_workers() const;
  // How many times a worker has woken from its sleep so far.
  int64_t wakeups() const { return wakeups_.load(); }
  // How many parts parallel_for splits n items (aligned to `grain`) of `work_ns` total work into.
  int parts_for(int64_t n, int64_t grain, double work_ns) const;
  using Fn = std::function<void(int64_t, int64_t, int)>;
  // How a parallel section may be split: its estimated work (`work` helpers) and the alignment of chunks.
  struct Cost {
    double work_ns = work::kUnknown;
    int64_t grain = 1;
  };
  // Calls fn(begin, end, part) on contiguous chunks of [0, n) aligned to `grain` elements, one per part
  // (parts_for; part < size()); blocks until all are done. The chunks depend only on n, the cost and
  // size(), never on which thread runs them.
  void parallel_for(int64_t n, Cost cost, const Fn& fn);
  // Work unknown: split over all threads.
  void parallel_for(int64_t n, const Fn& fn, int64_t grain = 1) {
    parallel_for(n, Cost{work::kUnknown, grain}, fn);
  }

 private:
  struct alignas(64) Worker {
    std::atomic<uint64_t> ticket{0};  // the job number this worker is called to help with
    std::atomic<bool> sleeping{false};
    std::mutex mu;
    std::condition_variable cv;
    std::thread thread;
  };
  void worker_loop(int id);
  void run_parts(uint64_t job);  // claims and runs parts of job `job` until none is left
  int threads_;
  std::vector<std::unique_ptr<Worker>> workers_;  // index i runs part i + 1
  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;      // held by the caller that owns the workers
  std::atomic<bool> stop_{false};
  // The job: written by the owning caller before it is published in state_, read-only while parts run.
  const Fn* job_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  // Job number (high 32 bits), its part count (16 bits) and the next unclaimed part (low 16 bits).
  // Parts are claimed by whichever thread gets there first (the caller included), so a worker that
  // is slow to wake (a loaded machine) delays nothing: the caller runs the parts itself.
  alignas(64) std::atomic<uint64_t> state_{0};
  std::atomic<int> done_{0};  // finished parts of the current job
  uint32_t job_seq_ = 0;
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<int> runs_{0};           // RunScopes alive
  std::atomic<uint64_t> wake_gen_{0};  // bumped by a RunScope that wakes the workers
  std::atomic<int64_t> wakeups_{0};    // times a worker left its sleep (wakeups())
  std::mutex done_mu_;
  std::condition_variable done_cv_;
};

}  // namespace tinyqat
