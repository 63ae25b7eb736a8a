// libFuzzer target for the training config reader (YAML, src/train/config.cpp): any text in a config file
// must end in a config or a tinyqat::Error naming the file, never a crash, an uncaught yaml-cpp exception
// or a sanitizer report. Configs that load are also validated and hashed (canonical()).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_util.h"
#include "train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::private_dir("fuzz_train_config") + "/c.yaml";
  if (!fuzz::write_all(path, data, size)) return 0;
  try {
    tinyqat::train::TrainConfig c = tinyqat::train::load_config(path);
    tinyqat::train::validate(c);
    (void)c.hash();
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
