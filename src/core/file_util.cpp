#include "core/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "core/atomic_file_writer.h"
#include "core/error.h"

namespace tinyqat {

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    fail("{}: {} bytes, more than the {} such a file may hold", path, st.st_size, max_bytes);
  }
  std::vector<uint8_t> buf(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      fail("{}: read error: {}", path, n < 0 ? std::strerror(errno) : "unexpected end of file");
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return buf;
}

std::vector<uint8_t> read_file_range(const std::string& path, uint64_t offset, uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file", path);
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || length > size - offset) {
    ::close(fd);
    fail("{}: the range of {} bytes at offset {} lies beyond the end of the file ({} bytes)", path, length,
         offset, size);
  }
  std::vector<uint8_t> buf(static_cast<size_t>(length));
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      fail("{}: read error: {}", path, n < 0 ? std::strerror(errno) : "unexpected end of file");
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return buf;
}

void crash_point(const char* step) {
  const char* at = std::getenv("TINYQAT_TEST_CRASH_AT");
  if (at && std::strcmp(at, step) == 0) ::_exit(86);
}

namespace {

// `.NAME.tmp-XXXXXX`: mkstemp's six characters are letters and digits.
bool is_our_temp_name(const std::string& n) {
  const size_t k = n.size();
  if (k < 1 + 1 + 5 + 6 || n[0] != '.' || n.compare(k - 11, 5, ".tmp-") != 0) return false;
  for (size_t i = k - 6; i < k; ++i)
    if (!std::isalnum(static_cast<unsigned char>(n[i]))) return false;
  return true;
}

void clean_stale_temps_once(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  static std::mutex mu;
  static std::set<std::string> done;
  std::error_code ec;
  fs::path key = fs::absolute(dir, ec);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!done.insert(key.string()).second) return;
  }
  const auto now = std::chrono::system_clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_our_temp_name(name)) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto mtime = std::chrono::system_clock::from_time_t(st.st_mtime);
    if (now - mtime > std::chrono::seconds(kStaleTempSeconds)) ::unlink(it->path().c_str());
  }
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  fs::path target(path_);
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  clean_stale_temps_once(dir);
  std::string tmp_name = ".";  // built in steps: GCC 12 warns (-Wrestrict) on "." + std::string&&
  tmp_name += target.filename().string();
  tmp_name += ".tmp-XXXXXX";
  std::string tmpl = (dir / tmp_name).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0)
    fail("{}: cannot create a temporary file in {}: {}", path_, dir.string(), std::strerror(errno));
  tmp_ = name.data();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (fd_ < 0) fail("{}: write after the file was committed", path_);
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("{}: write error: {}", path_, std::strerror(errno));
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) fail("{}: committed twice", path_);
  ::fchmod(fd_, 0644);
  const bool synced = ::fsync(fd_) == 0;
  const bool closed = ::close(fd_) == 0;
  fd_ = -1;
  if (!synced || !closed) fail("{}: cannot flush: {}", path_, std::strerror(errno));
  crash_point("write:before-rename");
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail("{}: cannot rename temporary file into place: {}", path_, std::strerror(errno));
  tmp_.clear();
}

void check_output_folder(const std::string& path) {
  const std::filesystem::path p(path), d = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  const auto st = std::filesystem::status(d, ec);
  TQ_CHECK(std::filesystem::exists(st), "{}: the folder {} does not exist", path, d.string());
  TQ_CHECK(std::filesystem::is_directory(st), "{}: {} is not a folder", path, d.string());
  TQ_CHECK(::access(d.c_str(), W_OK | X_OK) == 0, "{}: cannot write in {}: {}", path, d.string(),
           std::strerror(errno));
  TQ_CHECK(!std::filesystem::is_directory(p, ec), "{}: is a folder, not a file", path);
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  AtomicFileWriter w(path);
  w.write(data, size);
  w.commit();
}

}  // namespace tinyqat
