// libFuzzer target for the registry reader — the trust root: any text must end in a registry or a
// tinyqat::Error listing violations, never a crash, a sanitizer report or an unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "registry/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tinyqat::registry::validate_text(text);
  try {
    tinyqat::registry::Registry r =
        tinyqat::registry::parse_registry(text, "/nonexistent-fuzz-dir/registry.json");
    (void)tinyqat::registry::to_text(r);
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
