#include "runtime/thread_pool.h"

#include <algorithm>

namespace tinyqat {

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

static void chunk(int64_t n, int64_t grain, int parts, int i, int64_t* b, int64_t* e) {
  int64_t units = (n + grain - 1) / grain;
  int64_t per = units / parts, rem = units % parts;
  int64_t ub = i * per + std::min<int64_t>(i, rem);
  int64_t ue = ub + per + (i < rem ? 1 : 0);
  *b = std::min(n, ub * grain);
  *e = std::min(n, ue * grain);
}

void ThreadPool::worker_loop(int id) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    auto* job = job_;
    int64_t n = n_, grain = grain_;
    lk.unlock();
    int64_t b, e;
    chunk(n, grain, threads_, id, &b, &e);
    if (b < e) (*job)(b, e, id);
    lk.lock();
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                              int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (threads_ == 1 || n <= grain) {
    fn(0, n, 0);
    return;
  }
  std::lock_guard<std::mutex> call(call_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    job_ = &fn;
    n_ = n;
    grain_ = grain;
    pending_ = threads_ - 1;
    ++generation_;
  }
  cv_.notify_all();
  int64_t b, e;
  chunk(n, grain, threads_, 0, &b, &e);
  if (b < e) fn(b, e, 0);
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait(lk, [&] { return pending_ == 0; });
}

}  // namespace tinyqat
