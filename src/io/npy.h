// NumPy tensor files: .npy (format 1.0/2.0/3.0, little-endian, C or Fortran order) and .npz (a zip of
// .npy members, stored or deflate-compressed). Supported dtypes: float32, int8, uint8, int32, int64,
// bool; float64 and float16 are read and converted to float32 (numpy's default dtype is float64).
// Every malformed input raises tinyqat::Error naming the file (`what`) and the problem.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tinyqat {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;  // in file order

Tensor parse_npy(const uint8_t* data, size_t size, const std::string& what);
std::vector<uint8_t> serialize_npy(const Tensor& t);
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& t);  // atomic

// Member names drop the ".npy" suffix, as numpy.load does.
NamedTensors parse_npz(const uint8_t* data, size_t size, const std::string& what);
std::vector<uint8_t> serialize_npz(const NamedTensors& arrays, bool compress);
NamedTensors read_npz(const std::string& path);
void write_npz(const std::string& path, const NamedTensors& arrays, bool compress);  // atomic

}  // namespace tinyqat
