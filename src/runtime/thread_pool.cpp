#include "runtime/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tinyqat {
namespace {

inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Clocks for spin_until, in nanoseconds: wall time, and the calling thread's own CPU time (a spin that must
// outlast gaps in the caller's work does not run out while this thread waits off the CPU on a loaded
// machine).
int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Spins (with a pause) until done() or spin_ns of `clock` have passed; returns done().
template <typename F>
bool spin_until(F done, int64_t spin_ns, int64_t (*clock)() = wall_ns) {
  if (done()) return true;
  const int64_t deadline = clock() + spin_ns;
  for (int i = 1;; ++i) {
    cpu_pause();
    if (done()) return true;
    if ((i & 63) == 0 && clock() > deadline) return false;
  }
}

void chunk(int64_t n, int64_t grain, int parts, int i, int64_t* b, int64_t* e) {
  int64_t units = (n + grain - 1) / grain;
  int64_t per = units / parts, rem = units % parts;
  int64_t ub = i * per + std::min<int64_t>(i, rem);
  int64_t ue = ub + per + (i < rem ? 1 : 0);
  *b = std::min(n, ub * grain);
  *e = std::min(n, ue * grain);
}

// The pool whose sections run on this thread alone (a RunScope in RunMode::Caller), if any.
thread_local const ThreadPool* t_caller_pool = nullptr;

}  // namespace

int ThreadPool::resolve_threads(int threads) {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

ThreadPool::ThreadPool(int threads) : threads_(resolve_threads(threads)) {
  for (int i = 1; i < threads_; ++i) workers_.push_back(std::make_unique<Worker>());
  for (int i = 0; i + 1 < threads_; ++i) workers_[i]->thread = std::thread([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  for (auto& w : workers_) {
    { std::lock_guard<std::mutex> lk(w->mu); }
    w->cv.notify_one();
  }
  for (auto& w : workers_) w->thread.join();
}

ThreadPool::RunScope::RunScope(ThreadPool& pool, bool wake, RunMode mode)
    : pool_(pool), mode_(mode), outer_(t_caller_pool) {
  if (mode_ == RunMode::Caller) {
    t_caller_pool = &pool_;
    return;
  }
  pool_.runs_.fetch_add(1);
  if (!wake) return;
  pool_.wake_gen_.fetch_add(1);
  for (auto& w : pool_.workers_) {
    if (!w->sleeping.load()) continue;
    { std::lock_guard<std::mutex> lk(w->mu); }
    w->cv.notify_one();
  }
}

ThreadPool::RunScope::~RunScope() {
  if (mode_ == RunMode::Caller)
    t_caller_pool = outer_;
  else
    pool_.runs_.fetch_sub(1);
}

int ThreadPool::sleeping_workers() const {
  int n = 0;
  for (const auto& w : workers_) n += w->sleeping.load();
  return n;
}

int ThreadPool::parts_for(int64_t n, int64_t grain, double work_ns) const {
  if (threads_ == 1 || n <= 0) return 1;
  const int64_t units = (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1);
  int64_t parts = std::min<int64_t>(threads_, units);
  if (!(work_ns >= kMinPartNs * threads_))
    parts = std::min<int64_t>(parts, static_cast<int64_t>(work_ns / kMinPartNs));
  return static_cast<int>(std::max<int64_t>(parts, 1));
}

void ThreadPool::run_parts(uint64_t job) {
  uint64_t v = state_.load();
  for (;;) {
    const int parts = static_cast<int>((v >> 16) & 0xffff), next = static_cast<int>(v & 0xffff);
    if ((v >> 32) != job || next >= parts) return;
    if (!state_.compare_exchange_weak(v, v + 1)) continue;
    // A claimed part keeps the job alive (the caller waits for it), so its fields are valid here.
    int64_t b, e;
    chunk(n_, grain_, parts, next, &b, &e);
    if (b < e) (*job_)(b, e, next);
    if (done_.fetch_add(1) + 1 == parts && caller_sleeping_.load()) {
      { std::lock_guard<std::mutex> lk(done_mu_); }
      done_cv_.notify_one();
    }
    v = state_.load();
  }
}

void ThreadPool::worker_loop(int id) {
  Worker& w = *workers_[id];
  uint64_t seen = 0, t = 0;
  auto handed = [&] { return (t = w.ticket.load()) != seen || stop_.load(); };
  for (;;) {
    if (!spin_until(handed, kSpinNs)) {
      // A run in progress: its next operator is near, keep spinning (bounded); once it ends, from the top.
      if (runs_.load(std::memory_order_relaxed) > 0 &&
          spin_until([&] { return handed() || runs_.load(std::memory_order_relaxed) == 0; }, kRunSpinNs,
                     thread_cpu_ns))
        continue;
      std::unique_lock<std::mutex> lk(w.mu);
      const uint64_t gen = wake_gen_.load();
      w.sleeping.store(true);
      w.cv.wait(lk, [&] { return handed() || wake_gen_.load() != gen; });
      w.sleeping.store(false);
      wakeups_.fetch_add(1, std::memory_order_relaxed);
      if (!handed()) continue;  // woken by a run that starts: spin for its operators
    }
    if (stop_.load()) return;
    seen = t;
    run_parts(t);
  }
}

void ThreadPool::parallel_for(int64_t n, Cost cost, const Fn& fn) {
  if (n <= 0) return;
  const int64_t grain = std::max<int64_t>(1, cost.grain);
  const int parts = parts_for(n, grain, cost.work_ns);
  // One part, or a RunMode::Caller run: the whole range here (the thread-local is read only for splits).
  if (parts == 1 || t_caller_pool == this) {
    fn(0, n, 0);
    return;
  }
  if (busy_.test_and_set(std::memory_order_acquire)) {
    // Another caller owns the workers: the same parts, one after the other, on this thread.
    for (int p = 0; p < parts; ++p) {
      int64_t b, e;
      chunk(n, grain, parts, p, &b, &e);
      if (b < e) fn(b, e, p);
    }
    return;
  }
  // Below kWakeNs sleeping workers are left asleep: the parts go to the awake (spinning) ones and to
  // this thread, which claims whatever nobody else has. None awake: the whole range here.
  const bool wake = cost.work_ns >= kWakeNs;
  if (!wake) {
    bool any = false;
    for (int p = 1; p < parts && !any; ++p) any = !workers_[p - 1]->sleeping.load();
    if (!any) {
      busy_.clear(std::memory_order_release);
      fn(0, n, 0);
      return;
    }
  }
  job_ = &fn;
  n_ = n;
  grain_ = grain;
  done_.store(0);
  if (++job_seq_ == 0) ++job_seq_;  // 0 is a worker's "no job yet"
  const uint64_t job = job_seq_;
  state_.store(job << 32 | static_cast<uint64_t>(parts) << 16);
  for (int p = 1; p < parts; ++p) {
    Worker& w = *workers_[p - 1];
    if (!wake && w.sleeping.load()) continue;
    w.ticket.store(job);
    if (w.sleeping.load()) {
      { std::lock_guard<std::mutex> lk(w.mu); }
      w.cv.notify_one();
    }
  }
  // Whatever happens in a part run here, the parts claimed by workers finish before `fn` goes out of
  // scope; an exception leaves the unclaimed parts unrun.
  struct Join {
    ThreadPool* self;
    uint64_t job;
    int parts;
    ~Join() {
      // Close the job: parts nobody claimed (after an exception) count as done.
      uint64_t v = self->state_.load();
      while (!self->state_.compare_exchange_weak(v, (v & ~uint64_t(0xffff)) | static_cast<uint64_t>(parts))) {
      }
      const int unclaimed = parts - static_cast<int>(v & 0xffff);
      if (unclaimed > 0) self->done_.fetch_add(unclaimed);
      auto done = [this] { return self->done_.load() >= parts; };
      if (!spin_until(done, kSpinNs)) {
        std::unique_lock<std::mutex> lk(self->done_mu_);
        self->caller_sleeping_.store(true);
        self->done_cv_.wait(lk, done);
        self->caller_sleeping_.store(false);
      }
      self->busy_.clear(std::memory_order_release);
    }
  } join{this, job, parts};
  run_parts(job);
}

}  // namespace tinyqat
