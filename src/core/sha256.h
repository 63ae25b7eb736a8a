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

// A file read whole and checked against the digest it is pinned to (a registry entry's sha256). The
// bytes that were hashed are the bytes a caller loads: no second read between the check and the use.
struct PinnedFile {
  enum class Status { Ok, Missing, Unreadable, Mismatch };
  Status status = Status::Missing;
  std::vector<uint8_t> bytes;  // Ok: the verified bytes
  std::string sha256;          // Ok, Mismatch: the file's digest
  // Not Ok: what is wrong, naming the file: "<path> is missing", "<path>: cannot open: …",
  // "<path> has sha256 <got>, <pinned_by> pins <want>".
  std::string problem;
  bool ok() const { return status == Status::Ok; }
};
PinnedFile read_pinned(const std::string& path, const std::string& want_sha256, const std::string& pinned_by);

}  // namespace tinyqat
