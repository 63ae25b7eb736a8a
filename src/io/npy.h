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
// Any dtype numpy knows ('<f8', '<U5', ...): `bytes` of C-order data after the header. For what Tensor
// cannot hold (float64 columns, strings) when a file is only written, never computed on.
std::vector<uint8_t> serialize_npy_raw(const std::string& descr, const Shape& shape, const void* data,
                                       size_t bytes);
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& t);  // atomic

// Member names drop the ".npy" suffix, as numpy.load does.
NamedTensors parse_npz(const uint8_t* data, size_t size, const std::string& what);
// Only the arrays named in `names` are inflated and parsed (in file order); the other members' names go
// to *skipped. Every member's header is still checked, and the wanted members' declared sizes are
// bounded before anything is inflated (zip::read_members).
NamedTensors parse_npz_only(const uint8_t* data, size_t size, const std::string& what,
                            const std::vector<std::string>& names, std::vector<std::string>* skipped);
std::vector<uint8_t> serialize_npz(const NamedTensors& arrays, bool compress);
NamedTensors read_npz(const std::string& path);
void write_npz(const std::string& path, const NamedTensors& arrays, bool compress);  // atomic

// 1-D NumPy unicode string arrays ('<U{n}', UTF-32 in the file, UTF-8 here): what np.savez writes for
// a list of str, e.g. a data cache's row keys. The readers above refuse them; these read and write them.
using NamedStrings = std::vector<std::pair<std::string, std::vector<std::string>>>;
std::vector<std::string> parse_npy_strings(const uint8_t* data, size_t size, const std::string& what);
bool npy_holds_strings(const uint8_t* data, size_t size);                          // a '<U…' header
std::vector<uint8_t> serialize_npy_strings(const std::vector<std::string>& utf8);  // Error: bad UTF-8
// Like parse_npz / read_npz, with string members returned in *strings instead of refused.
NamedTensors parse_npz_with_strings(const uint8_t* data, size_t size, const std::string& what,
                                    NamedStrings* strings);
NamedTensors read_npz_with_strings(const std::string& path, NamedStrings* strings);

}  // namespace tinyqat
