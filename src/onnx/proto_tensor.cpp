#include "onnx/proto_tensor.h"

#include <cstring>

#include "core/error.h"

namespace tinyqat {

int onnx_type_of(DType t) {
  switch (t) {
    case DType::F32:
      return onnx::TensorProto::FLOAT;
    case DType::I8:
      return onnx::TensorProto::INT8;
    case DType::U8:
      return onnx::TensorProto::UINT8;
    case DType::I32:
      return onnx::TensorProto::INT32;
    case DType::I64:
      return onnx::TensorProto::INT64;
    case DType::Bool:
      return onnx::TensorProto::BOOL;
  }
  return 0;
}

DType dtype_of_onnx(int onnx_type, const std::string& context) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
      return DType::F32;
    case onnx::TensorProto::INT8:
      return DType::I8;
    case onnx::TensorProto::UINT8:
      return DType::U8;
    case onnx::TensorProto::INT32:
      return DType::I32;
    case onnx::TensorProto::INT64:
      return DType::I64;
    case onnx::TensorProto::BOOL:
      return DType::Bool;
    default:
      break;
  }
  std::string name =
      onnx::TensorProto::DataType_IsValid(onnx_type)
          ? onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(onnx_type))
          : std::to_string(onnx_type);
  fail("{}: element type {} is not supported (float32, int8, uint8, int32, int64, bool are)", context, name);
}

static Shape dims_of(const onnx::TensorProto& p) {
  return Shape(p.dims().begin(), p.dims().end());
}

Tensor tensor_from_raw(DType t, const Shape& shape, const void* data, size_t size,
                       const std::string& context) {
  int64_t n = checked_numel(shape, t);
  TQ_CHECK(static_cast<size_t>(n) * dtype_size(t) == size, "{}: {} bytes of data for {} {} (expected {})",
           context, size, dtype_name(t), shape_str(shape), static_cast<size_t>(n) * dtype_size(t));
  Tensor r = Tensor::empty(t, shape);
  if (size) std::memcpy(r.raw(), data, size);
  return r;
}

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& context) {
  if (p.data_type() == onnx::TensorProto::DOUBLE) {
    // Rare in our models but legal: keep the graph float32 throughout.
    // The stored count is checked against the dims before anything is allocated: the dims are only
    // a claim (a 40-byte tensor may say 2^31 elements).
    Shape shape = dims_of(p);
    const int64_t n = checked_numel(shape, DType::F32);
    const size_t stored =
        p.raw_data().empty() ? static_cast<size_t>(p.double_data_size()) : p.raw_data().size() / 8;
    TQ_CHECK(stored == static_cast<size_t>(n) && p.raw_data().size() % 8 == 0,
             "{}: {} values stored for float64 {} (expected {})", context, stored, shape_str(shape), n);
    Tensor r = Tensor::empty(DType::F32, shape);
    if (!p.raw_data().empty()) {
      for (int64_t i = 0; i < r.numel(); ++i) {
        double d;
        std::memcpy(&d, p.raw_data().data() + i * 8, 8);
        r.data<float>()[i] = static_cast<float>(d);
      }
    } else {
      for (int64_t i = 0; i < r.numel(); ++i) r.data<float>()[i] = static_cast<float>(p.double_data(i));
    }
    return r;
  }
  DType t = dtype_of_onnx(p.data_type(), context);
  Shape shape = dims_of(p);
  if (p.has_raw_data()) return tensor_from_raw(t, shape, p.raw_data().data(), p.raw_data().size(), context);
  const int64_t n = checked_numel(shape, t);
  const int64_t stored = t == DType::F32   ? p.float_data_size()
                         : t == DType::I64 ? p.int64_data_size()
                                           : p.int32_data_size();
  TQ_CHECK(stored == n, "{}: {} values stored for {} {} (expected {})", context, stored, dtype_name(t),
           shape_str(shape), n);
  Tensor r = Tensor::empty(t, shape);
  switch (t) {
    case DType::F32:
      for (int64_t i = 0; i < n; ++i) r.data<float>()[i] = p.float_data(i);
      break;
    case DType::I64:
      for (int64_t i = 0; i < n; ++i) r.data<int64_t>()[i] = p.int64_data(i);
      break;
    case DType::I32:
      for (int64_t i = 0; i < n; ++i) r.data<int32_t>()[i] = p.int32_data(i);
      break;
    case DType::I8:
      for (int64_t i = 0; i < n; ++i) r.data<int8_t>()[i] = static_cast<int8_t>(p.int32_data(i));
      break;
    case DType::U8:
    case DType::Bool:
      for (int64_t i = 0; i < n; ++i) r.data<uint8_t>()[i] = static_cast<uint8_t>(p.int32_data(i));
      break;
  }
  return r;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->set_name(name);
  p->set_data_type(onnx_type_of(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  p->set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

}  // namespace tinyqat
