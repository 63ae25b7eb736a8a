// A dense, row-major, 64-byte aligned tensor. Storage is shared (copies are cheap views of the same
// bytes); clone() makes a deep copy. Every allocation goes through a size check so that absurd shapes
// are refused before any memory is requested.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tinyqat {

enum class DType : uint8_t { F32, I8, U8, I32, I64, Bool };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "float32", "int8", ...

using Shape = std::vector<int64_t>;

// The largest tensor we agree to allocate (bytes). Beyond it a shape is "absurd".
constexpr size_t kMaxTensorBytes = size_t(8) << 30;

// The largest dimension and rank any shape may claim (a file's value infos, initializers, inputs): shape
// arithmetic on dims this size (sums, products with strides and pads ≤ 2^24) cannot overflow int64.
constexpr int64_t kMaxDim = int64_t(1) << 40;
constexpr int64_t kMaxRank = 64;  // numpy's NPY_MAXDIMS

// numel of a shape; throws Error for negative dims, dims over kMaxDim, ranks over kMaxRank, or when the
// byte size would exceed kMaxTensorBytes.
int64_t checked_numel(const Shape& shape, DType t);
std::string shape_str(const Shape& shape);  // "[1,3,224,224]"
// "1x3x224x224" (or with commas) → {1, 3, 224, 224}: decimal dims of at most 11 digits, nothing else;
// an Error naming `what` otherwise. The tensor's size is checked where it is made (checked_numel).
Shape parse_shape(const std::string& text, const std::string& what);

// Recycles tensor storage by size so that repeated runs of a model reuse their buffers instead of
// returning them to the OS (each fresh page costs a fault). Thread-safe. A Tensor allocated while a
// pool is active on its thread (BufferPool::Scope) gives its storage back to that pool when the last
// reference goes, even after the Scope ended; the pool lives as long as any such storage does.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  explicit BufferPool(size_t max_cached_bytes = size_t(1) << 30) : max_cached_(max_cached_bytes) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  class Scope {  // makes `pool` the current pool of this thread
   public:
    explicit Scope(std::shared_ptr<BufferPool> pool);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    std::shared_ptr<BufferPool> prev_;
  };
  size_t cached_bytes() const;

 private:
  friend class Tensor;
  void* take(size_t bytes);
  void give(void* p, size_t bytes);
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;
  size_t cached_ = 0, max_cached_;
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(DType t, const Shape& shape);  // uninitialised
  static Tensor zeros(DType t, const Shape& shape);
  static Tensor scalar_f32(float v);
  static Tensor from_f32(const Shape& shape, const std::vector<float>& v);
  static Tensor from_i64(const Shape& shape, const std::vector<int64_t>& v);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool defined() const { return buf_ != nullptr || numel_ == 0; }

  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }
  template <typename T>
  T* data() {
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(raw());
  }

  // Same bytes, new shape (numel must match).
  Tensor reshaped(const Shape& shape) const;
  Tensor clone() const;
  // A copy of samples [b, e) along axis 0.
  Tensor rows(int64_t b, int64_t e) const;
  // Values converted to double / int64 (for shape arithmetic and reporting), any dtype.
  std::vector<int64_t> to_i64() const;
  double scalar_as_double(int64_t i = 0) const;

 private:
  DType dtype_ = DType::F32;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<uint8_t> buf_;
};

}  // namespace tinyqat
