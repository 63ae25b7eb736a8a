// The streaming form of core/file_util.h's write_file_atomic (same temporary files, same rename).
#pragma once
#include <cstddef>
#include <string>

namespace tinyqat {

// write_file_atomic for outputs written piece by piece (too large to hold): the bytes go to the temporary
// file as they come, commit() flushes it and renames it into place. Destroyed without commit() (an error
// on the way), the temporary file is removed and `path` is left as it was.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const void* data, size_t size);
  void commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace tinyqat
