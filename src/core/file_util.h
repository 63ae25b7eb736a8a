// File I/O with errors that name the file, and atomic writes (temporary file in the same folder,
// fsync, rename) so that an output is either complete or absent, never half-written.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tinyqat {

// The whole file; an Error naming it when it holds more than `max_bytes` (checked before allocating).
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = UINT64_MAX);
// Reads `length` bytes at `offset` (both checked against the file's size first: an Error naming the file
// when the range does not lie inside it). Allocates only the range.
std::vector<uint8_t> read_file_range(const std::string& path, uint64_t offset, uint64_t length);
void write_file_atomic(const std::string& path, const void* data, size_t size);
inline void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
inline void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}
// What an output at `path` needs before a long computation starts (write_file_atomic does not create
// folders): its folder exists, is a folder and may be written to, and the path itself is not a folder.
// Error naming the path otherwise.
void check_output_folder(const std::string& path);
// write_file_atomic's temporary files are `.NAME.tmp-XXXXXX` beside NAME. A process killed between
// mkstemp and rename leaves one behind: the first atomic write into a folder (once per process and
// folder) removes those of this pattern older than kStaleTempSeconds.
inline constexpr int kStaleTempSeconds = 600;

// Crash injection for tests: when the environment variable TINYQAT_TEST_CRASH_AT equals `step`, the
// process ends at once with _exit(86) (no destructors, no flush: as a kill would). Steps are named where
// they are called ("register:fp32", ..., "write:before-rename").
void crash_point(const char* step);

}  // namespace tinyqat
