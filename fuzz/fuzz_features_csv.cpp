// libFuzzer target for the VMAF feature CSV reader (src/data/features_csv.cpp): any file must end in the
// arrays ([N,6] features and [N] vmaf, the same N) or a tinyqat::Error "FILE:LINE: problem", never a crash.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "data/corpus.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::private_dir("fuzz_features_csv") + "/f.csv";
  if (!fuzz::write_all(path, data, size)) return 0;
  try {
    tinyqat::NamedTensors t = tinyqat::data::features_from_csv(path);
    if (t.size() != 2 || t[0].second.shape().size() != 2 || t[0].second.shape()[1] != 6 ||
        t[1].second.shape().size() != 1 || t[0].second.shape()[0] != t[1].second.shape()[0])
      __builtin_trap();
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
