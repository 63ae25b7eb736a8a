#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace tinyqat {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::I8:
      return 1;
    case DType::U8:
      return 1;
    case DType::I32:
      return 4;
    case DType::I64:
      return 8;
    case DType::Bool:
      return 1;
  }
  return 1;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "float32";
    case DType::I8:
      return "int8";
    case DType::U8:
      return "uint8";
    case DType::I32:
      return "int32";
    case DType::I64:
      return "int64";
    case DType::Bool:
      return "bool";
  }
  return "?";
}

int64_t checked_numel(const Shape& shape, DType t) {
  const unsigned __int128 limit = kMaxTensorBytes / dtype_size(t);
  // The product of the non-zero dims is bounded too: a [0, 2^39, 2^39] tensor holds nothing, yet code
  // multiplying two of its dims would overflow.
  unsigned __int128 n = 1;
  bool empty = false;
  TQ_CHECK(static_cast<int64_t>(shape.size()) <= kMaxRank, "tensor shape of rank {} is over the limit {}",
           shape.size(), kMaxRank);
  for (int64_t d : shape) {
    TQ_CHECK(d >= 0, "tensor shape {} has a negative dimension", shape_str(shape));
    TQ_CHECK(d <= kMaxDim, "tensor shape {} has an absurd dimension", shape_str(shape));
    empty |= d == 0;
    n *= static_cast<unsigned __int128>(std::max<int64_t>(d, 1));
    TQ_CHECK(n <= limit, "tensor shape {} of {} is too large (over {} GiB); refusing to allocate",
             shape_str(shape), dtype_name(t), kMaxTensorBytes >> 30);
  }
  return empty ? 0 : static_cast<int64_t>(n);
}

Shape parse_shape(const std::string& text, const std::string& what) {
  Shape s;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t e = text.find_first_of("x,", pos);
    std::string d = text.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    TQ_CHECK(!d.empty() && d.find_first_not_of("0123456789") == std::string::npos && d.size() < 12,
             "{}: bad shape '{}' (use e.g. 1x1x224x224)", what, text);
    s.push_back(std::stoll(d));
    if (e == std::string::npos) break;
    pos = e + 1;
  }
  return s;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';  // appended apart: GCC 12's -Wrestrict misfires on "," + string
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
thread_local std::shared_ptr<BufferPool> current_pool;
}

BufferPool::~BufferPool() {
  for (auto& [bytes, p] : free_) std::free(p);
}

BufferPool::Scope::Scope(std::shared_ptr<BufferPool> pool) : prev_(std::move(current_pool)) {
  current_pool = std::move(pool);
}

BufferPool::Scope::~Scope() {
  current_pool = std::move(prev_);
}

size_t BufferPool::cached_bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return cached_;
}

void* BufferPool::take(size_t bytes) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = free_.find(bytes);
    if (it != free_.end()) {
      void* p = it->second;
      free_.erase(it);
      cached_ -= bytes;
      return p;
    }
  }
  return std::aligned_alloc(64, bytes);
}

void BufferPool::give(void* p, size_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  if (cached_ + bytes > max_cached_) {
    std::free(p);
    return;
  }
  free_.emplace(bytes, p);
  cached_ += bytes;
}

Tensor Tensor::empty(DType t, const Shape& shape) {
  Tensor r;
  r.dtype_ = t;
  r.shape_ = shape;
  r.numel_ = checked_numel(shape, t);
  // Rounded up, plus one spare cache line that kernels may read (never write) past the end.
  size_t bytes = (r.nbytes() + 63) / 64 * 64 + 64;
  if (std::shared_ptr<BufferPool> pool = current_pool) {
    void* p = pool->take(bytes);
    if (!p) fail("out of memory allocating {} bytes for tensor {}", bytes, shape_str(shape));
    r.buf_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                      [pool, bytes](uint8_t* q) { pool->give(q, bytes); });
    return r;
  }
  void* p = std::aligned_alloc(64, bytes);
  if (!p) fail("out of memory allocating {} bytes for tensor {}", bytes, shape_str(shape));
  r.buf_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
  return r;
}

Tensor Tensor::zeros(DType t, const Shape& shape) {
  Tensor r = empty(t, shape);
  std::memset(r.raw(), 0, r.nbytes());
  return r;
}

Tensor Tensor::scalar_f32(float v) {
  Tensor r = empty(DType::F32, {});
  *r.data<float>() = v;
  return r;
}

Tensor Tensor::from_f32(const Shape& shape, const std::vector<float>& v) {
  Tensor r = empty(DType::F32, shape);
  TQ_CHECK(static_cast<int64_t>(v.size()) == r.numel(), "from_f32: {} values for shape {}", v.size(),
           shape_str(shape));
  std::memcpy(r.raw(), v.data(), r.nbytes());
  return r;
}

Tensor Tensor::from_i64(const Shape& shape, const std::vector<int64_t>& v) {
  Tensor r = empty(DType::I64, shape);
  TQ_CHECK(static_cast<int64_t>(v.size()) == r.numel(), "from_i64: {} values for shape {}", v.size(),
           shape_str(shape));
  std::memcpy(r.raw(), v.data(), r.nbytes());
  return r;
}

Tensor Tensor::reshaped(const Shape& shape) const {
  TQ_CHECK(checked_numel(shape, dtype_) == numel_, "cannot reshape {} to {}", shape_str(shape_),
           shape_str(shape));
  Tensor r = *this;
  r.shape_ = shape;
  return r;
}

Tensor Tensor::clone() const {
  Tensor r = empty(dtype_, shape_);
  if (nbytes()) std::memcpy(r.raw(), raw(), nbytes());
  return r;
}

Tensor Tensor::rows(int64_t b, int64_t e) const {
  TQ_CHECK(rank() >= 1 && 0 <= b && b <= e && e <= shape_[0], "rows [{}, {}) of a tensor of shape {}", b, e,
           shape_str(shape_));
  Shape s = shape_;
  const int64_t per = shape_[0] ? numel_ / shape_[0] : 0;
  s[0] = e - b;
  Tensor r = empty(dtype_, s);
  if (r.nbytes())
    std::memcpy(r.raw(), static_cast<const uint8_t*>(raw()) + b * per * dtype_size(dtype_), r.nbytes());
  return r;
}

double Tensor::scalar_as_double(int64_t i) const {
  TQ_CHECK(i < numel_, "tensor element {} out of range {}", i, numel_);
  switch (dtype_) {
    case DType::F32:
      return data<float>()[i];
    case DType::I8:
      return data<int8_t>()[i];
    case DType::U8:
      return data<uint8_t>()[i];
    case DType::I32:
      return data<int32_t>()[i];
    case DType::I64:
      return static_cast<double>(data<int64_t>()[i]);
    case DType::Bool:
      return data<uint8_t>()[i] ? 1.0 : 0.0;
  }
  return 0;
}

std::vector<int64_t> Tensor::to_i64() const {
  std::vector<int64_t> v(numel_);
  for (int64_t i = 0; i < numel_; ++i) {
    if (dtype_ == DType::I64) {
      v[i] = data<int64_t>()[i];
      continue;
    }
    // A float tensor read as integers (shape, index, axes): a value no int64 holds is an error,
    // not a conversion with undefined behaviour.
    const double d = scalar_as_double(i);
    if (!(d >= -9.2e18 && d <= 9.2e18))
      fail("a {} tensor read as integers holds {}, which is not an int64 value", dtype_name(dtype_), d);
    v[i] = static_cast<int64_t>(d);
  }
  return v;
}

}  // namespace tinyqat
