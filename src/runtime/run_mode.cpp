#include "runtime/run_mode.h"

#include <algorithm>

namespace tinyqat {
namespace {

int64_t median(std::array<int64_t, RunModeChooser::kSamples> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

RunModeChooser::Ticket RunModeChooser::start(uint64_t sig) {
  if (!active_) return {};
  for (uint64_t f = fast_.load(std::memory_order_relaxed); same_signature(f, sig) && (f & kLeftMask) > 0;)
    if (fast_.compare_exchange_weak(f, f - 1, std::memory_order_relaxed))
      return {(f & kModeBit) ? ThreadPool::RunMode::Caller : ThreadPool::RunMode::Pool, false, false};
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= kMaxSignatures && !entries_.count(sig)) {
    // Full: forget the least recently used signature (not the one the fast path holds).
    const uint64_t fast = fast_.load(std::memory_order_relaxed);
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (!same_signature(fast, it->first) &&
          (victim == entries_.end() || it->second.used < victim->second.used))
        victim = it;
    entries_.erase(victim);
  }
  Entry& e = entries_[sig];
  e.used = ++use_clock_;
  if (e.phase >= kMeasureRuns) {
    // The fast path counted this signature's runs down: measure again.
    const uint64_t fast = fast_.load(std::memory_order_relaxed);
    if (same_signature(fast, sig) && (fast & kLeftMask) == 0 && e.left > 0) e.left = 0;
    if (e.left > 0) {
      --e.left;
      return {e.mode, false, false};
    }
    if (e.left < 0 && ++e.waited <= 4 * kMeasureRuns) return {e.mode, false, false};
    e = Entry{0, -1, 0, e.used, {}, {}, e.mode};  // measure again
  }
  const int p = e.phase++;
  if (p < kWarmRuns) return {ThreadPool::RunMode::Pool, p == 0, false};
  const int r = (p - kWarmRuns) % (2 * kBlock), pos = r % kBlock;
  const auto mode = r < kBlock ? ThreadPool::RunMode::Pool : ThreadPool::RunMode::Caller;
  return {mode, mode == ThreadPool::RunMode::Pool && pos == 0, pos != 0};
}

void RunModeChooser::finish(uint64_t sig, const Ticket& t, int64_t run_ns) {
  if (!active_ || !t.counted) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(sig);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  const int m = t.mode == ThreadPool::RunMode::Pool ? 0 : 1;
  if (e.left >= 0 || e.filled[m] >= kSamples) return;  // a run from an earlier measurement
  e.ns[m][e.filled[m]++] = run_ns;
  if (e.filled[0] < kSamples || e.filled[1] < kSamples) return;
  const double pool = static_cast<double>(median(e.ns[0])), caller = static_cast<double>(median(e.ns[1]));
  e.mode = pool < kPoolGain * caller ? ThreadPool::RunMode::Pool : ThreadPool::RunMode::Caller;
  e.left = kRecheckRuns;  // counted here for runs that miss the fast path (another signature holds it)
  e.waited = 0;
  fast_.store(
      tag(sig) | (e.mode == ThreadPool::RunMode::Caller ? kModeBit : 0) | static_cast<uint64_t>(kRecheckRuns),
      std::memory_order_relaxed);
}

ThreadPool::RunMode RunModeChooser::chosen(uint64_t sig) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(sig);
  return it != entries_.end() ? it->second.mode : ThreadPool::RunMode::Pool;
}

bool RunModeChooser::decided(uint64_t sig) const {
  if (!active_) return true;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(sig);
  return it != entries_.end() && it->second.left >= 0;
}

}  // namespace tinyqat
