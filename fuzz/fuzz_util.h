// Helpers the file-reading fuzz targets share: a private temporary folder and writing bytes to a file in it.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace fuzz {

// /tmp/<name>_<pid>: one folder per process, created once.
inline std::string private_dir(const char* name) {
  std::string d = std::string("/tmp/") + name + "_" + std::to_string(::getpid());
  ::mkdir(d.c_str(), 0700);
  return d;
}

inline bool write_all(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

}  // namespace fuzz
