// Putting models into a registry: the PTQ/QAT handoff (`tinyqat ptq --register R.json --id ID`),
// `tinyqat registry add` and `tinyqat registry set`. Files are copied beside the registry as
// `<id>.onnx` / `<id>.int8.onnx` (an existing entry keeps its file names), digests are computed from the
// bytes copied, and the registry is written last: every earlier step is checked first, so a refused
// registration changes nothing, and a crash leaves the previous registry complete and loadable.
#pragma once
#include <optional>
#include <string>

#include "ir/graph.h"
#include "registry/registry.h"

namespace tinyqat::handoff {

struct Artifact {
  std::string registry;  // registry.json; created (schema_version 1) when missing
  std::string id;
  std::string fp32;        // the fp32 .onnx
  std::string int8;        // its int8 twin ("" for an fp32 entry)
  std::string quant_mode;  // fp32 | dynamic | static | qat ("" = fp32 without int8, else dynamic)
  std::string kind;        // fr | nr | filter; "" = keep the entry's, or infer from the model's shapes
  std::optional<double> budget;
  std::optional<std::string> calibration_set, license, notes, description;
  std::optional<bool> smoke;
  std::string eval_data;  // EVAL.npz (.npy): measure fp32 vs int8 and record the drop; "" = not measured
  // A drop the caller measured already (the ladder): recorded as is (int8_sha256, budget and time are
  // filled in at registration). Ignored when eval_data is given.
  std::optional<registry::Measurement> measurement;
  int threads = 1;
  bool replace = true;  // false: refuse an id that exists (registry add)
};

struct Registered {
  registry::Entry entry;
  std::optional<registry::Measurement> measurement;
  std::string summary;  // one line per thing done
};

Registered register_artifact(const Artifact& a);

// What `--register R.json` needs before anything is written: R.json is a file or absent, its folder a
// writable folder (or creatable: the first existing ancestor is a writable folder), and an existing
// registry readable and valid. A quantizing command calls it before writing its own output, so that a
// registration bound to fail leaves nothing behind; register_artifact calls it too.
void check_registry_target(const std::string& registry);

// `registry set`: FIELD=VALUE on one entry (VALUE "" removes an optional field; for sha256 /
// int8_sha256 the value "auto" recomputes the digest from the file). Validates; does not write.
void set_field(registry::Registry& r, const std::string& id, const std::string& field,
               const std::string& value);

// fr / nr / filter from the model's shapes (image in → image out: filter; image in → scores: nr;
// features in: fr); "" when the shapes say nothing.
std::string infer_kind(const Model& m);

}  // namespace tinyqat::handoff
