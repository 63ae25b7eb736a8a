// File I/O with errors that name the file, and atomic writes (temporary file in the same folder,
// fsync, rename) so that an output is either complete or absent, never half-written.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tinyqat {

std::vector<uint8_t> read_file(const std::string& path);
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace tinyqat
