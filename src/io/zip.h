// The small subset of ZIP that .npz files use: stored and raw-deflate members, ZIP64 extensions, one
// disk, no encryption. The reader trusts nothing in the archive: every offset and size is checked
// against the buffer, and inflated sizes are bounded before anything is allocated.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tinyqat::zip {

// `s` in single quotes, made safe for a one-line error message (names in archives are untrusted).
std::string quoted(std::string_view s);

// Calls fn(name, bytes, size) for each member in central-directory order; the bytes are valid only
// during the call. Errors are tinyqat::Error starting with `what`.
using MemberFn = std::function<void(const std::string& name, const uint8_t* data, size_t size)>;
// Inflated members together may not exceed min(32 GiB, the machine's memory).
void read_members(const uint8_t* data, size_t size, const std::string& what, const MemberFn& fn);
// The same for the members want(name) accepts (all when want is empty): the others' headers are checked
// but they are neither inflated nor passed to fn. Before anything is inflated, the wanted members' declared
// sizes must sum to at most max_total (an Error otherwise: a zip bomb is refused before allocating).
using WantFn = std::function<bool(const std::string& name)>;
void read_members(const uint8_t* data, size_t size, const std::string& what, const MemberFn& fn,
                  const WantFn& want, uint64_t max_total);
uint64_t default_total_limit();

// Builds an archive in memory. Output bytes depend only on the inputs (fixed 1980-01-01 timestamps).
class Writer {
 public:
  // force_zip64 writes ZIP64 records even for small archives (it exists so tests can cover them).
  explicit Writer(bool compress, bool force_zip64 = false) : compress_(compress), force64_(force_zip64) {}
  void add(const std::string& name, const uint8_t* data, size_t size);
  std::vector<uint8_t> finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc;
    uint64_t csize, usize, offset;
    uint16_t method;
  };
  bool compress_, force64_;
  std::vector<uint8_t> out_;
  std::vector<Entry> entries_;
};

}  // namespace tinyqat::zip
