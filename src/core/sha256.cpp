#include "core/sha256.h"

#include <openssl/evp.h>

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"

namespace tinyqat {

std::string sha256_hex(const void* data, size_t size) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, size, md, &len, EVP_sha256(), nullptr) != 1 || len != 32)
    fail("sha256: OpenSSL digest failed");
  static const char* hex = "0123456789abcdef";
  std::string s(64, '0');
  for (unsigned i = 0; i < 32; ++i) {
    s[2 * i] = hex[md[i] >> 4];
    s[2 * i + 1] = hex[md[i] & 15];
  }
  return s;
}

std::string sha256_file(const std::string& path) {
  return sha256_hex(read_file(path));
}

PinnedFile read_pinned(const std::string& path, const std::string& want, const std::string& pinned_by) {
  PinnedFile f;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    f.status = PinnedFile::Status::Missing;
    f.problem = fmt::format("{} is missing", path);
    return f;
  }
  try {
    f.bytes = read_file(path);
  } catch (const Error& e) {
    f.status = PinnedFile::Status::Unreadable;
    f.problem = e.what();
    return f;
  }
  f.sha256 = sha256_hex(f.bytes);
  if (f.sha256 != want) {
    f.status = PinnedFile::Status::Mismatch;
    f.problem = fmt::format("{} has sha256 {}, {} pins {}", path, f.sha256, pinned_by, want);
    f.bytes.clear();
    return f;
  }
  f.status = PinnedFile::Status::Ok;
  return f;
}

}  // namespace tinyqat
