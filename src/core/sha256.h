// sha256 digests (OpenSSL), as lowercase hex: the registry pins every model file by its digest, the
// trainer hashes its config, the gate names its data by digest.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tinyqat {

std::string sha256_hex(const void* data, size_t size);
inline std::string sha256_hex(const std::vector<uint8_t>& bytes) {
  return sha256_hex(bytes.data(), bytes.size());
}
// Reads the whole file (Error naming it when unreadable).
std::string sha256_file(const std::string& path);

}  // namespace tinyqat
