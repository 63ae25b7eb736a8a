// The input recorder: calibration data from what a deployed model is really fed. Opt-in per session (C
// API tq_session_record, the libvmaf layer through TINYQAT_RECORD), it keeps a fixed-size uniform sample
// of the inputs (reservoir sampling over rows of axis 0: each row of every input is one sample) and the
// running min / max of every input, and writes them as an .npz that `ptq --calibration`, `quantize` and
// `measure --data` take as they are (docs/quantization.md, "Calibration from what the model sees").
//
// Bounded: at most `samples` rows and `max_bytes` of them in memory, the same on disk. Never changes a
// result: it reads the inputs, and a failure to keep a sample (no memory) only stops the recording. Safe
// with concurrent runs (one mutex around the bookkeeping; the copy of a kept row is the only work
// inside). Rows whose shape differs from the first row recorded (another frame size) are counted in the
// min / max but not sampled: an .npz array has one shape.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "io/npy.h"

namespace tinyqat {

struct RecorderOptions {
  std::string path;               // the .npz written by flush()
  int64_t samples = 256;          // reservoir size, 1 .. kMaxRecorderSamples
  int64_t max_bytes = 256 << 20;  // memory bound of the kept rows (fewer rows are kept when they are large)
  uint64_t seed = 1;              // the reservoir's choices (a fixed sequence of runs keeps the same rows)
};
inline constexpr int64_t kMaxRecorderSamples = 1 << 20;
inline constexpr int64_t kMaxRecorderBytes = int64_t(16) << 30;

struct RecorderStats {
  int64_t seen = 0;         // rows offered
  int64_t kept = 0;         // rows in the reservoir
  int64_t capacity = 0;     // rows the reservoir holds (0 until the first row fixes the row size)
  int64_t other_shape = 0;  // rows not sampled: another shape than the first
  std::string stopped;      // why recording stopped early ("" while it records)
};

class InputRecorder {
 public:
  // `inputs`: the model's input names, in order (what the .npz arrays are called). Throws Error on bad
  // options (naming the path).
  InputRecorder(RecorderOptions opt, std::vector<std::string> inputs);

  // One run's inputs (by name; names the model does not take are ignored). Never throws.
  void add(const std::vector<std::pair<std::string, Tensor>>& inputs) noexcept;
  // Writes the .npz atomically: NAME [kept, row…] per input, NAME.min_max float64 [2] (over every row
  // seen, sampled or not), recorder.seen int64 [1]. Throws Error naming the file (nothing recorded yet,
  // an unwritable path).
  void flush() const;
  RecorderStats stats() const;
  const std::string& path() const { return opt_.path; }

 private:
  void add_locked(const std::vector<const Tensor*>& by_input, int64_t rows);

  RecorderOptions opt_;
  std::vector<std::string> names_;
  mutable std::mutex mu_;
  SplitMix64 rng_;
  RecorderStats st_;
  std::vector<DType> dtypes_;
  std::vector<Shape> row_shapes_;            // fixed by the first row sampled
  std::vector<size_t> row_bytes_;            // per input
  std::vector<std::vector<uint8_t>> slots_;  // slot k: every input's row, concatenated
  std::vector<double> lo_, hi_;              // running min / max per input (NaN-free values only)
};

}  // namespace tinyqat
