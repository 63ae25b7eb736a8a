// TensorProto ↔ Tensor conversion shared by import and export.
#pragma once
#include <string>

#include <onnx/onnx_pb.h>

#include "core/tensor.h"

namespace tinyqat {

// ONNX TensorProto data_type code for a DType.
int onnx_type_of(DType t);
// DType for an ONNX data_type code; throws Error naming `context` for unsupported types.
DType dtype_of_onnx(int onnx_type, const std::string& context);

// Inline (non-external) tensor data.
Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& context);
// Tensor bytes as they'd sit in raw_data (little-endian).
Tensor tensor_from_raw(DType t, const Shape& shape, const void* data, size_t size,
                       const std::string& context);
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p);

}  // namespace tinyqat
