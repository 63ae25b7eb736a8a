// Latency of a model on the runtime: warm-up runs, then timed runs, summarised as `tinyqat bench` prints
// them (median = p50, percentiles interpolated between neighbours as numpy does). The one timing loop:
// `tinyqat bench` and the ladder of `tinyqat quantize` both measure through it.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "runtime/executor.h"

namespace tinyqat {

struct Latency {
  std::vector<double> ms;  // every timed run, in run order
  double median = 0, min = 0, mean = 0, p90 = 0, p99 = 0, max = 0, stddev = 0;
  int settle_runs = 0;  // untimed runs added after the warm-up for the session to choose its run mode
};

// `warmup` untimed runs, then `iterations` (≥ 1) timed ones of `feeds`; the executor's profile is reset
// between the two. With ExecutorOptions::parallel Auto and threads > 1 the session first times both run
// modes for these input shapes (run_mode.h); runs are added to the warm-up until it has chosen, so that
// the timed runs are the steady state, not half of them forced onto the calling thread.
Latency time_runs(Executor& ex, const std::vector<std::pair<std::string, Tensor>>& feeds, int warmup,
                  int iterations);

}  // namespace tinyqat
