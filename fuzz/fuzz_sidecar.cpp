// libFuzzer target for sidecar JSON (<stem>.json beside a model): the registry's reading of the measurement
// (registry::read_measurement, what the runtime's fallback rule trusts) and, when the sidecar reads, a
// rewrite of it that must keep its other keys. Any text must end in a measurement, nothing, or a
// tinyqat::Error — never a crash or a sanitizer report.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_util.h"
#include "registry/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = fuzz::private_dir("fuzz_sidecar");
  tinyqat::registry::Registry r;
  r.path = dir + "/registry.json";
  r.schema_version = 1;
  tinyqat::registry::Entry e;
  e.id = "m";
  e.kind = "fr";
  e.onnx = "m.onnx";
  e.sha256 = std::string(64, 'a');
  e.quant_mode = "dynamic";
  e.int8_sha256 = std::string(64, 'b');
  r.models.push_back(e);
  if (!fuzz::write_all(r.sidecar_path(e).string(), data, size)) return 0;
  try {
    std::optional<tinyqat::registry::Measurement> m = tinyqat::registry::read_measurement(r, e);
    tinyqat::registry::write_sidecar(r, e, m);
    std::optional<tinyqat::registry::Measurement> again = tinyqat::registry::read_measurement(r, e);
    if (m.has_value() != again.has_value() || (m && m->int8_sha256 != again->int8_sha256)) __builtin_trap();
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
