// The runtime under concurrent use: the thread pool's chunking (the same whether the workers or the
// calling thread run the parts), many threads running one executor, several executors in one process,
// and `threads = 0` (all cores). No timing: only what the outputs and the chunks must be.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "quant/ptq.h"
#include "runtime/executor.h"
#include "runtime/latency.h"
#include "runtime/thread_pool.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

using Chunk = std::tuple<int64_t, int64_t, int>;  // begin, end, part

// The chunks one parallel_for hands out, sorted by part.
std::vector<Chunk> chunks_of(ThreadPool& pool, int64_t n, ThreadPool::Cost cost) {
  std::mutex mu;
  std::vector<Chunk> r;
  pool.parallel_for(n, cost, [&](int64_t b, int64_t e, int part) {
    std::lock_guard<std::mutex> lk(mu);
    r.emplace_back(b, e, part);
  });
  std::sort(r.begin(), r.end(),
            [](const Chunk& a, const Chunk& b) { return std::get<2>(a) < std::get<2>(b); });
  return r;
}

bool covers_once(const std::vector<Chunk>& c, int64_t n, int64_t grain) {
  int64_t next = 0;
  for (const auto& [b, e, part] : c) {
    if (b != next || e <= b || (e != n && e % grain != 0)) return false;
    next = e;
  }
  return next == n;
}

// Waits (up to 2 s) until every worker of `pool` sleeps; whether they all do.
bool workers_fall_asleep(const ThreadPool& pool) {
  const int n = pool.size() - 1;
  for (int i = 0; i < 2000 && pool.sleeping_workers() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return pool.sleeping_workers() == n;
}

TEST(ThreadPool, CostModelKeepsSmallWorkOnTheCallingThread) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.parts_for(1000, 1, 1000.0), 1);                        // 1 µs of work
  EXPECT_EQ(pool.parts_for(1000, 1, 1.9 * ThreadPool::kMinPartNs), 1);  // below two parts' worth
  EXPECT_EQ(pool.parts_for(1000, 1, 2.0 * ThreadPool::kMinPartNs), 2);
  EXPECT_EQ(pool.parts_for(1000, 1, 100.0 * ThreadPool::kMinPartNs), 4);  // never more than the threads
  EXPECT_EQ(pool.parts_for(3, 1, work::kUnknown), 3);                     // never more than the items
  EXPECT_EQ(pool.parts_for(100, 64, work::kUnknown), 2);                  // nor the grains
  const auto t = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  pool.parallel_for(1 << 20, {1000.0},
                    [&](int64_t, int64_t, int) { elsewhere += std::this_thread::get_id() != t; });
  EXPECT_EQ(elsewhere.load(), 0);
  EXPECT_EQ(ThreadPool(1).parts_for(1 << 20, 1, work::kUnknown), 1);
}

// A section below kWakeNs does not wake sleeping workers (on a VM the wake costs more than the part):
// with every worker asleep it runs whole on the calling thread. Larger sections still wake them.
TEST(ThreadPool, SmallSectionsLeaveSleepingWorkersAsleep) {
  ThreadPool pool(3);
  auto all_asleep = [&] { return workers_fall_asleep(pool); };
  ASSERT_TRUE(all_asleep()) << "workers never went to sleep";
  const auto t = std::this_thread::get_id();
  std::atomic<int> elsewhere{0}, calls{0};
  const double small = 0.5 * ThreadPool::kWakeNs;
  ASSERT_GE(pool.parts_for(1 << 20, 1, small), 2);  // the cost model alone would split it
  pool.parallel_for(1 << 20, {small}, [&](int64_t b, int64_t e, int) {
    elsewhere += std::this_thread::get_id() != t;
    calls += 1;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 1 << 20);
  });
  EXPECT_EQ(elsewhere.load(), 0);
  EXPECT_EQ(calls.load(), 1);
  // Above kWakeNs the parts are handed out as before: every item exactly once, in three chunks.
  ASSERT_TRUE(all_asleep());
  const auto c = chunks_of(pool, 3000, {10.0 * ThreadPool::kWakeNs, 1});
  EXPECT_EQ(c.size(), 3u);
  EXPECT_TRUE(covers_once(c, 3000, 1));
}

// Inside a run (RunScope) idle workers keep spinning past kSpinNs, so a run's small sections, each below
// kWakeNs and separated by more than kSpinNs of single-threaded work, still find them awake and share
// their parts. It depends on the workers getting a CPU within milliseconds, which other tests running
// at the same time can prevent: DISABLED_ here, run alone by the ctest entry thread_pool_run_spin
// (tests/CMakeLists.txt, RUN_SERIAL).
TEST(ThreadPool, DISABLED_ARunKeepsItsWorkersAwakeForSmallSections) {
  ThreadPool pool(3);
  auto all_asleep = [&] { return workers_fall_asleep(pool); };
  ASSERT_TRUE(all_asleep()) << "workers never went to sleep";
  const auto t = std::this_thread::get_id();
  auto busy = [](int64_t us) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
    while (std::chrono::steady_clock::now() < end) {
    }
  };
  const double small = 0.5 * ThreadPool::kWakeNs;
  ASSERT_GE(pool.parts_for(3, 1, small), 2);
  // Attempts: each wakes the workers with a large section, then runs small ones. An attempt counts only
  // when a worker ran a part of the large section (it had a CPU then): on a loaded machine the workers
  // may get none for a while, and the attempt is repeated (for up to 5 s).
  std::atomic<int> elsewhere{0};
  int counted = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (elsewhere.load() == 0 && counted < 5 && std::chrono::steady_clock::now() < give_up) {
    ThreadPool::RunScope run(pool, false);
    std::atomic<int> woke{0};
    pool.parallel_for(3, {10 * ThreadPool::kWakeNs}, [&](int64_t, int64_t, int) {
      woke += std::this_thread::get_id() != t;
      busy(200);
    });
    if (woke.load() == 0) continue;
    ++counted;
    for (int section = 0; section < 10 && elsewhere.load() == 0; ++section) {
      busy(10 * ThreadPool::kSpinNs / 1000);  // single-threaded work between the sections (< kRunSpinNs)
      pool.parallel_for(3, {small}, [&](int64_t, int64_t, int) {
        elsewhere += std::this_thread::get_id() != t;
        busy(100);
      });
    }
  }
  if (counted == 0) GTEST_SKIP() << "the workers never got a CPU within 5 s (a loaded machine)";
  EXPECT_GT(elsewhere.load(), 0) << "no part of a small section ran on a worker during the run";
  EXPECT_TRUE(all_asleep()) << "the workers did not go back to sleep after the run";
}

// A RunScope asked to wake the workers brings sleeping ones up as the run starts, without any section.
TEST(ThreadPool, AWakingRunWakesItsWorkers) {
  ThreadPool pool(3);
  auto all_asleep = [&] { return workers_fall_asleep(pool); };
  ASSERT_TRUE(all_asleep());
  const int64_t before = pool.wakeups();
  {
    ThreadPool::RunScope run(pool, true);
    for (int i = 0; i < 2000 && pool.wakeups() < before + 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(pool.wakeups(), before + 2) << "a waking run left its workers asleep";
}

// In RunMode::Caller every section of the run stays on the calling thread, in one part, and the workers
// are not held spinning for it.
TEST(ThreadPool, CallerModeRunsSectionsOnTheCallingThread) {
  ThreadPool pool(3);
  const auto self = std::this_thread::get_id();
  {
    ThreadPool::RunScope run(pool, false, ThreadPool::RunMode::Caller);
    std::set<std::thread::id> ran_on;
    std::mutex mu;
    std::vector<Chunk> c;
    pool.parallel_for(4096, [&](int64_t b, int64_t e, int part) {
      std::lock_guard<std::mutex> lk(mu);
      ran_on.insert(std::this_thread::get_id());
      c.emplace_back(b, e, part);
    });
    EXPECT_EQ(ran_on, std::set<std::thread::id>{self});
    EXPECT_EQ(c, (std::vector<Chunk>{{0, 4096, 0}}));
    EXPECT_TRUE(workers_fall_asleep(pool)) << "workers kept spinning for a caller-mode run";
  }
  // Outside the scope the pool splits again.
  EXPECT_EQ(chunks_of(pool, 4096, ThreadPool::Cost{}).size(), 3u);
}

TEST(ThreadPool, ZeroThreadsMeansAllCores) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(ThreadPool::resolve_threads(0), pool.size());
  EXPECT_EQ(ThreadPool::resolve_threads(3), 3);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(10000, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 10000LL * 9999 / 2);
}

// A caller that finds the workers busy (here: a parallel_for nested in a part) runs the same chunks,
// with the same part numbers, on its own thread.
TEST(ThreadPool, BusyPoolRunsTheSameChunksInline) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 5, 64, 1000, 4097})
    for (int64_t grain : {1, 7, 64}) {
      const ThreadPool::Cost cost{work::kUnknown, grain};
      const std::vector<Chunk> alone = chunks_of(pool, n, cost);
      EXPECT_TRUE(covers_once(alone, n, grain)) << n << " " << grain;
      std::vector<std::vector<Chunk>> nested(3);
      pool.parallel_for(3, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          const auto t = std::this_thread::get_id();
          bool same_thread = true;
          std::vector<Chunk> c;
          pool.parallel_for(n, cost, [&](int64_t cb, int64_t ce, int part) {
            same_thread = same_thread && std::this_thread::get_id() == t;
            c.emplace_back(cb, ce, part);
          });
          EXPECT_TRUE(same_thread);
          nested[i] = c;
        }
      });
      for (const auto& c : nested) EXPECT_EQ(c, alone) << n << " " << grain;
    }
}

// Many callers on one pool at once: every call still covers its range exactly once.
TEST(ThreadPool, ConcurrentCallersEachCoverTheirRange) {
  ThreadPool pool(2);
  std::atomic<int> bad{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int64_t n = 1 + (t * 131 + i * 17) % 3000;
        std::vector<int> hits(static_cast<size_t>(n), 0);
        pool.parallel_for(n, {work::kUnknown, 1 + i % 5}, [&](int64_t b, int64_t e, int) {
          for (int64_t k = b; k < e; ++k) ++hits[k];
        });
        if (std::any_of(hits.begin(), hits.end(), [](int h) { return h != 1; })) ++bad;
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(bad.load(), 0);
}

// ---------------------------------------------------------------------------------------------------

struct Case {
  std::string name;
  Model model;
  std::string input;
  std::vector<Tensor> frames;
};

// fp32 and static int8 learned_filter on frames large enough that the cost model splits their convs,
// and an nr_metric (depthwise convs, pooling, Gemm).
std::vector<Case> cases() {
  std::vector<Case> r;
  Model lf = zoo::learned_filter(1, 8, 2, 5);
  std::vector<Tensor> frames;
  for (int k = 0; k < 3; ++k) frames.push_back(luma_images(1 + k % 2, 96 + 16 * k, 128, 300 + k));
  quant::QConfig cfg;
  NamedTensors calib = {{"degraded", luma_images(4, 48, 48, 11)}};
  r.push_back({"learned_filter fp32", lf, "degraded", frames});
  r.push_back({"learned_filter int8", quant::ptq_static(lf, calib, cfg, nullptr), "degraded", frames});
  std::vector<Tensor> nr_frames;
  for (int k = 0; k < 3; ++k) nr_frames.push_back(luma_images(1 + k % 2, 128, 128, 400 + k));
  r.push_back({"nr_metric fp32", zoo::nr_metric(1, 16, 7), "frame", nr_frames});
  return r;
}

bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].dtype() != b[i].dtype() || a[i].shape() != b[i].shape() ||
        std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()) != 0)
      return false;
  return true;
}

// 8 caller threads × 12 runs on one executor give exactly the outputs of serial runs, for 1, 2, 3 and
// all-cores executors.
TEST(Concurrency, EightCallersOnOneExecutorMatchSerialRuns) {
  for (const Case& c : cases())
    for (int threads : {1, 2, 3, 0}) {
      Executor ex(c.model, ExecutorOptions{threads});
      std::vector<std::vector<Tensor>> serial;
      for (const Tensor& f : c.frames) serial.push_back(ex.run({{c.input, f}}));
      std::atomic<int> mismatches{0};
      std::vector<std::thread> callers;
      for (int t = 0; t < 8; ++t)
        callers.emplace_back([&, t] {
          for (int i = 0; i < 12; ++i) {
            const size_t k = static_cast<size_t>(t + i) % c.frames.size();
            if (!same_bits(ex.run({{c.input, c.frames[k]}}), serial[k])) ++mismatches;
          }
        });
      for (auto& th : callers) th.join();
      EXPECT_EQ(mismatches.load(), 0) << c.name << " with " << threads << " threads";
    }
}

// The thread count never changes the numbers of these models (every split is over independent outputs):
// serial runs at 1, 2 and 4 threads agree bit for bit.
TEST(Concurrency, ThreadCountDoesNotChangeOutputs) {
  for (const Case& c : cases()) {
    Executor one(c.model, ExecutorOptions{1});
    for (int threads : {2, 4}) {
      Executor many(c.model, ExecutorOptions{threads});
      for (const Tensor& f : c.frames)
        EXPECT_TRUE(same_bits(one.run({{c.input, f}}), many.run({{c.input, f}}))) << c.name << " " << threads;
    }
  }
}

// Sections split over the pool or all run on the caller: the same bits, at 2 and 3 threads.
TEST(Concurrency, PoolAndCallerModesGiveTheSameBits) {
  for (const Case& c : cases()) {
    Executor one(c.model, ExecutorOptions{1});
    for (int threads : {2, 3})
      for (Parallel p : {Parallel::Pool, Parallel::Caller, Parallel::Auto}) {
        ExecutorOptions o;
        o.threads = threads;
        o.parallel = p;
        Executor ex(c.model, o);
        for (int round = 0; round < 3; ++round)  // Auto: through its measurement of both modes
          for (const Tensor& f : c.frames)
            EXPECT_TRUE(same_bits(one.run({{c.input, f}}), ex.run({{c.input, f}})))
                << c.name << " " << threads << " threads, mode " << static_cast<int>(p);
      }
  }
}

// The timing loop (bench, the quantize ladder) adds untimed runs until an Auto session has chosen its run
// mode for the inputs, so that its timed runs are the steady state; forced modes and one thread add none.
TEST(RunModeChooser, TimedRunsStartOnceTheModeIsChosen) {
  const Case c = cases().front();
  const NamedTensors feeds{{c.input, c.frames.front()}};
  for (Parallel p : {Parallel::Auto, Parallel::Pool, Parallel::Caller}) {
    ExecutorOptions o;
    o.threads = 2;
    o.parallel = p;
    Executor ex(c.model, o);
    EXPECT_EQ(ex.run_mode_settled(feeds), p != Parallel::Auto);
    const Latency l = time_runs(ex, feeds, 2, 3);
    EXPECT_EQ(l.settle_runs, p == Parallel::Auto ? RunModeChooser::kMeasureRuns - 2 : 0)
        << static_cast<int>(p);
    EXPECT_TRUE(ex.run_mode_settled(feeds));
    EXPECT_EQ(time_runs(ex, feeds, 0, 3).settle_runs, 0);
  }
  Executor one(c.model, ExecutorOptions{1});
  EXPECT_TRUE(one.run_mode_settled(feeds));
}

// The chooser times a block of runs in each mode per input-shape signature, keeps the pool only when it
// is kPoolGain faster, and measures again after kRecheckRuns runs.
TEST(RunModeChooser, MeasuresBothModesAndKeepsTheFaster) {
  using Mode = ThreadPool::RunMode;
  // Runs `n` runs of `sig`, each taking pool_ns or caller_ns by its mode; returns the modes used.
  auto drive = [](RunModeChooser& ch, uint64_t sig, int64_t n, int64_t pool_ns, int64_t caller_ns) {
    std::vector<Mode> used;
    for (int64_t i = 0; i < n; ++i) {
      const auto t = ch.start(sig);
      used.push_back(t.mode);
      ch.finish(sig, t, t.mode == Mode::Pool ? pool_ns : caller_ns);
    }
    return used;
  };
  const int64_t measure = RunModeChooser::kMeasureRuns;
  RunModeChooser ch(2);
  auto first = drive(ch, 1, measure, 300, 240);
  EXPECT_EQ(std::count(first.begin(), first.end(), Mode::Pool),
            RunModeChooser::kWarmRuns + RunModeChooser::kRounds * RunModeChooser::kBlock);
  // The modes alternate in blocks after the warm-up runs.
  EXPECT_EQ(first[RunModeChooser::kWarmRuns + RunModeChooser::kBlock], Mode::Caller);
  EXPECT_EQ(first[RunModeChooser::kWarmRuns + 2 * RunModeChooser::kBlock], Mode::Pool);
  EXPECT_EQ(ch.chosen(1), Mode::Caller);
  auto kept = drive(ch, 1, RunModeChooser::kRecheckRuns, 1, 1000);  // times outside a measurement count not
  EXPECT_EQ(std::count(kept.begin(), kept.end(), Mode::Caller), RunModeChooser::kRecheckRuns);
  drive(ch, 1, measure, 100, 240);  // measured again: now the pool wins
  EXPECT_EQ(ch.chosen(1), Mode::Pool);
  // Another signature is measured on its own; a pool only 3 % faster is not kept.
  drive(ch, 2, measure, 970, 1000);
  EXPECT_EQ(ch.chosen(2), Mode::Caller);
  EXPECT_EQ(ch.chosen(1), Mode::Pool);
  // Many other shapes evict the least recently used signatures, never the decided one in use.
  for (uint64_t sig = 100; sig < 100 + 2 * RunModeChooser::kMaxSignatures; ++sig)
    ch.finish(sig, ch.start(sig), 1);
  EXPECT_EQ(ch.chosen(2), Mode::Caller);
  // One thread: nothing to choose.
  RunModeChooser single(1);
  auto one = drive(single, 1, 50, 300, 1);
  EXPECT_EQ(std::count(one.begin(), one.end(), Mode::Pool), 50);
}

// Several executors (of different models and thread counts) run at once in one process, each from
// two caller threads: each gives its serial outputs.
TEST(Concurrency, SeveralExecutorsInOneProcess) {
  std::vector<Case> cs = cases();
  struct Live {
    const Case* c;
    std::unique_ptr<Executor> ex;
    std::vector<std::vector<Tensor>> serial;
  };
  std::vector<Live> live;
  for (const Case& c : cs)
    for (int threads : {1, 2}) {
      Live l{&c, std::make_unique<Executor>(c.model, ExecutorOptions{threads}), {}};
      for (const Tensor& f : c.frames) l.serial.push_back(l.ex->run({{c.input, f}}));
      live.push_back(std::move(l));
    }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> callers;
  for (size_t s = 0; s < live.size(); ++s)
    for (int t = 0; t < 2; ++t)
      callers.emplace_back([&, s, t] {
        const Live& l = live[s];
        for (int i = 0; i < 6; ++i) {
          const size_t k = static_cast<size_t>(t + i) % l.c->frames.size();
          if (!same_bits(l.ex->run({{l.c->input, l.c->frames[k]}}), l.serial[k])) ++mismatches;
        }
      });
  for (auto& th : callers) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Profiling under concurrent runs counts every run of every node.
TEST(Concurrency, ProfileCountsEveryConcurrentRun) {
  const Case c = cases()[0];
  Executor ex(c.model, ExecutorOptions{2, /*profile=*/true});
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ex.run({{c.input, c.frames[0]}});
    });
  for (auto& th : callers) th.join();
  const auto prof = ex.profile();
  ASSERT_FALSE(prof.empty());
  for (const auto& p : prof) EXPECT_EQ(p.runs, 40) << p.node;
}

}  // namespace
}  // namespace tinyqat::test
