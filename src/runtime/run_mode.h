// Whether a session run splits its sections over the thread pool or runs them all on the calling thread,
// chosen by measuring both. Which is faster depends on the model, the input size, the CPU and its load:
// on a 2-vCPU VM a 0.25 ms model ran 1.3× slower split over two cores than on one (the data its operators
// hand each other moves between the cores' caches), while a 5 ms model ran 1.6× faster. No work estimate
// predicts that across machines, so the session times both.
//
// Per input-shape signature: a few warm-up runs, then blocks of runs in each mode, alternating (the first
// run of a block is not counted: it wakes the workers, or lets them fall asleep), then the medians decide.
// Alternating blocks keep a drift of the machine (caches filling, clocks rising) out of the comparison. The
// pool is kept only when it is at least kPoolGain faster: a second core that buys less is left to the rest of
// the process (libvmaf's feature threads). Every kRecheckRuns runs the signature is measured again, so a
// change of load is followed. Both modes compute the same bits (ThreadPool::RunMode), so the choice never
// changes a result.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "runtime/thread_pool.h"

namespace tinyqat {

class RunModeChooser {
 public:
  static constexpr int kWarmRuns = 3;  // first runs of a measurement, in the pool, not counted
  static constexpr int kBlock = 3;     // runs per block (the first not counted)
  static constexpr int kRounds = 4;    // pairs of blocks (pool, caller) per measurement
  static constexpr int kSamples = kRounds * (kBlock - 1);                // counted runs per mode
  static constexpr int kMeasureRuns = kWarmRuns + 2 * kRounds * kBlock;  // runs one measurement takes
  static constexpr int64_t kRecheckRuns = 2000;  // runs in the chosen mode before measuring again
  static constexpr double kPoolGain = 0.95;      // the pool's median must be under this × the caller's
  static constexpr size_t kMaxSignatures = 64;   // more distinct shapes: the least recently used goes

  // `threads` == 1: every run is RunMode::Pool (which then runs on the caller anyway), nothing measured.
  explicit RunModeChooser(int threads) : active_(threads > 1) {}

  struct Ticket {
    ThreadPool::RunMode mode = ThreadPool::RunMode::Pool;
    bool first_of_block = false;  // a pool block's first run wakes the workers
    bool counted = false;         // the run's time is a sample of the measurement
  };
  // The mode for the next run of signature `sig`; pass the ticket back to finish() with the run's time.
  Ticket start(uint64_t sig);
  void finish(uint64_t sig, const Ticket& t, int64_t run_ns);

  // The mode runs of `sig` use now outside measurements (RunMode::Pool for an unseen signature).
  ThreadPool::RunMode chosen(uint64_t sig) const;
  // Whether `sig` has a decision that is not being measured again (always, with one thread).
  bool decided(uint64_t sig) const;

 private:
  struct Entry {
    int phase = 0;      // 0 .. kMeasureRuns−1: the next run of the measurement; kMeasureRuns: all started
    int64_t left = -1;  // runs in `mode` before measuring again; −1: measured runs still to finish
    int waited = 0;     // runs started while waiting for them (a run that threw never finishes)
    uint64_t used = 0;  // when the locked path last started a run of it (use_clock_)
    std::array<std::array<int64_t, kSamples>, 2> ns{};
    std::array<int, 2> filled{};
    ThreadPool::RunMode mode = ThreadPool::RunMode::Pool;
  };
  bool active_;
  // The latest decision, read without the lock while its runs last (a run of a few µs would otherwise pay
  // for the lock and the lookup), in one word so that a run never pairs one decision's signature with
  // another's mode: the signature's tag (52 bits), the mode (1 bit), the runs left before the locked path
  // measures again (11 bits).
  static constexpr int kLeftBits = 11;
  static constexpr uint64_t kLeftMask = (uint64_t(1) << kLeftBits) - 1, kModeBit = kLeftMask + 1;
  static_assert(kRecheckRuns <= static_cast<int64_t>(kLeftMask));
  // The signature's tag in fast_: its top 52 bits after an odd multiplication (a bijection), so that
  // signatures that differ only in their low bits get different tags too.
  static uint64_t tag(uint64_t sig) { return (sig * 0x9E3779B97F4A7C15ull) & ~(kModeBit | kLeftMask); }
  static bool same_signature(uint64_t fast, uint64_t sig) {
    return (fast & ~(kModeBit | kLeftMask)) == tag(sig);
  }
  std::atomic<uint64_t> fast_{0};
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t use_clock_ = 0;
};

}  // namespace tinyqat
