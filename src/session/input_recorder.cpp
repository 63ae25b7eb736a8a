#include "session/input_recorder.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>

#include "core/error.h"

namespace tinyqat {

namespace {

// min / max of a tensor's values as doubles (NaN skipped: it compares false); false when it has none.
bool value_range(const Tensor& t, double* lo, double* hi) {
  double a = std::numeric_limits<double>::infinity(), b = -a;
  auto scan = [&](const auto* p) {
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double v = static_cast<double>(p[i]);
      if (v < a) a = v;
      if (v > b) b = v;
    }
  };
  switch (t.dtype()) {
    case DType::F32:
      scan(t.data<float>());
      break;
    case DType::U8:
      scan(t.data<uint8_t>());
      break;
    case DType::I8:
      scan(t.data<int8_t>());
      break;
    case DType::I32:
      scan(t.data<int32_t>());
      break;
    case DType::I64:
      scan(t.data<int64_t>());
      break;
    case DType::Bool:
      scan(static_cast<const uint8_t*>(t.raw()));
      break;
  }
  if (!(a <= b)) return false;
  *lo = a, *hi = b;
  return true;
}

}  // namespace

InputRecorder::InputRecorder(RecorderOptions opt, std::vector<std::string> inputs)
    : opt_(std::move(opt)), names_(std::move(inputs)), rng_(opt_.seed) {
  TQ_CHECK(!opt_.path.empty(), "input recorder: no output path");
  TQ_CHECK(opt_.samples >= 1 && opt_.samples <= kMaxRecorderSamples,
           "{}: input recorder: samples must be 1..{}, got {}", opt_.path, kMaxRecorderSamples, opt_.samples);
  TQ_CHECK(opt_.max_bytes >= 1 && opt_.max_bytes <= kMaxRecorderBytes,
           "{}: input recorder: max_bytes must be 1..{}, got {}", opt_.path, kMaxRecorderBytes,
           opt_.max_bytes);
  TQ_CHECK(!names_.empty(), "{}: input recorder: the model has no input", opt_.path);
  lo_.assign(names_.size(), std::numeric_limits<double>::infinity());
  hi_.assign(names_.size(), -std::numeric_limits<double>::infinity());
}

void InputRecorder::add(const std::vector<std::pair<std::string, Tensor>>& inputs) noexcept {
  std::vector<const Tensor*> by_input(names_.size(), nullptr);
  for (const auto& [name, t] : inputs)
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) by_input[i] = &t;
  // One row per index of axis 0 when every input has one of the same length; else the run is one row.
  int64_t rows = -1;
  for (const Tensor* t : by_input) {
    if (!t) return;  // the run will fail: nothing to learn from it
    const int64_t r = t->rank() >= 1 ? t->dim(0) : -2;
    rows = rows == -1 ? r : (rows == r ? rows : -2);
  }
  std::vector<double> lo(names_.size()), hi(names_.size());
  std::vector<bool> has(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) has[i] = value_range(*by_input[i], &lo[i], &hi[i]);
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < names_.size(); ++i)
    if (has[i]) lo_[i] = std::min(lo_[i], lo[i]), hi_[i] = std::max(hi_[i], hi[i]);
  if (!st_.stopped.empty()) return;
  try {
    add_locked(by_input, rows);
  } catch (const std::bad_alloc&) {
    st_.stopped = "out of memory";
  } catch (const std::exception& e) {
    st_.stopped = e.what();
  }
}

void InputRecorder::add_locked(const std::vector<const Tensor*>& by_input, int64_t rows) {
  const bool whole = rows < 0;  // the run's tensors are one row
  const int64_t n = whole ? 1 : rows;
  std::vector<Shape> shapes;
  std::vector<size_t> bytes;
  for (const Tensor* t : by_input) {
    const Shape& s = t->shape();
    shapes.push_back(whole ? s : Shape(s.begin() + 1, s.end()));
    bytes.push_back(whole || rows == 0 ? t->nbytes() : t->nbytes() / static_cast<size_t>(rows));
  }
  if (row_shapes_.empty() && n > 0) {  // the first row fixes the shapes and the reservoir's size
    size_t total = 0;
    for (size_t b : bytes) total += b;
    dtypes_.clear();
    for (const Tensor* t : by_input) dtypes_.push_back(t->dtype());
    row_shapes_ = shapes, row_bytes_ = bytes;
    st_.capacity = std::min<int64_t>(
        opt_.samples, total == 0 ? opt_.samples : opt_.max_bytes / static_cast<int64_t>(total));
    if (st_.capacity == 0) {
      st_.stopped =
          fmt::format("one sample is {} bytes, over the recorder's {} bytes", total, opt_.max_bytes);
      return;
    }
  }
  bool same = true;
  for (size_t i = 0; i < by_input.size(); ++i)
    same = same && shapes[i] == row_shapes_[i] && by_input[i]->dtype() == dtypes_[i];
  for (int64_t r = 0; r < n; ++r) {
    ++st_.seen;
    if (!same) {
      ++st_.other_shape;
      continue;
    }
    const int64_t index = st_.seen - st_.other_shape - 1;  // among the rows of the recorded shape
    int64_t slot = -1;
    if (st_.kept < st_.capacity) {
      slot = st_.kept;
      slots_.emplace_back();
      ++st_.kept;
    } else {
      const auto j = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(index) + 1));
      if (j < st_.capacity) slot = j;
    }
    if (slot < 0) continue;
    std::vector<uint8_t>& dst = slots_[static_cast<size_t>(slot)];
    size_t total = 0;
    for (size_t b : row_bytes_) total += b;
    dst.resize(total);
    size_t at = 0;
    for (size_t i = 0; i < by_input.size(); ++i) {
      const auto* src =
          static_cast<const uint8_t*>(by_input[i]->raw()) + static_cast<size_t>(r) * row_bytes_[i];
      if (row_bytes_[i] > 0) std::memcpy(dst.data() + at, src, row_bytes_[i]);
      at += row_bytes_[i];
    }
  }
}

void InputRecorder::flush() const {
  std::lock_guard<std::mutex> lock(mu_);
  TQ_CHECK(st_.kept > 0, "{}: the input recorder has no sample yet ({} rows seen{})", opt_.path, st_.seen,
           st_.stopped.empty() ? std::string() : "; " + st_.stopped);
  NamedTensors arrays;
  size_t at = 0;
  for (size_t i = 0; i < names_.size(); ++i) {
    Shape shape{st_.kept};
    shape.insert(shape.end(), row_shapes_[i].begin(), row_shapes_[i].end());
    Tensor a = Tensor::empty(dtypes_[i], shape);
    auto* dst = static_cast<uint8_t*>(a.raw());
    for (int64_t k = 0; k < st_.kept; ++k)
      if (row_bytes_[i] > 0)
        std::memcpy(dst + static_cast<size_t>(k) * row_bytes_[i], slots_[static_cast<size_t>(k)].data() + at,
                    row_bytes_[i]);
    at += row_bytes_[i];
    arrays.emplace_back(names_[i], std::move(a));
  }
  for (size_t i = 0; i < names_.size(); ++i) {
    Tensor r = Tensor::empty(DType::F32, {2});
    const bool any = lo_[i] <= hi_[i];
    r.data<float>()[0] = any ? static_cast<float>(lo_[i]) : NAN;
    r.data<float>()[1] = any ? static_cast<float>(hi_[i]) : NAN;
    arrays.emplace_back(names_[i] + ".min_max", std::move(r));
  }
  Tensor seen = Tensor::empty(DType::I64, {1});
  seen.data<int64_t>()[0] = st_.seen;
  arrays.emplace_back("recorder.seen", std::move(seen));
  write_npz(opt_.path, arrays, false);
}

RecorderStats InputRecorder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return st_;
}

}  // namespace tinyqat
