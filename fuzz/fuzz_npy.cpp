// libFuzzer target for the .npy/.npz readers. Bad input must end in tinyqat::Error; anything else
// (a crash, a sanitizer report, std::bad_alloc from an unchecked size) is a bug the fuzzer should see.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/npy.h"
#include "io/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tinyqat::Tensor t = tinyqat::parse_npy(data, size, "fuzz.npy");
    // Whatever parses must serialize and parse back to the same bytes.
    std::vector<uint8_t> b = tinyqat::serialize_npy(t);
    if (tinyqat::serialize_npy(tinyqat::parse_npy(b.data(), b.size(), "again.npy")) != b) __builtin_trap();
  } catch (const tinyqat::Error&) {
  }
  try {
    tinyqat::NamedTensors n = tinyqat::parse_npz(data, size, "fuzz.npz");
    std::vector<uint8_t> b = tinyqat::serialize_npz(n, size & 1);
    if (tinyqat::parse_npz(b.data(), b.size(), "again.npz").size() != n.size()) __builtin_trap();
  } catch (const tinyqat::Error&) {
  }
  // Random bytes rarely pass the CRC check, so also wrap the input as a valid member to reach the
  // inflate and member parsing paths.
  for (bool compress : {false, true}) {
    tinyqat::zip::Writer w(compress);
    w.add("m.npy", data, size);
    std::vector<uint8_t> z = w.finish();
    try {
      tinyqat::parse_npz(z.data(), z.size(), "wrapped.npz");
    } catch (const tinyqat::Error&) {
    }
  }
  return 0;
}
