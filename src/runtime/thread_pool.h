// A fixed-size pool with static partitioning: the same thread count always splits work the same way,
// so results are deterministic for a fixed thread count.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tinyqat {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return threads_; }
  // Calls fn(begin, end, worker) on `threads` contiguous chunks of [0, n); blocks until all are done.
  // Chunks are aligned to `grain` elements.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn, int64_t grain = 1);

 private:
  void worker_loop(int id);
  int threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time: concurrent callers queue here
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace tinyqat
