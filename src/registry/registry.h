// The model registry: the trust root between the quantizer and the runtime. A `registry.json` in the
// VMAF fork's format (schema.cpp holds the fork's schema verbatim): one entry per model with the fp32
// file, its sha256, the quantization mode, the int8 file's sha256 and the PLCC budget. Files live in the
// registry's folder; `<stem>.onnx` has its int8 twin `<stem>.int8.onnx` and its sidecar `<stem>.json`
// (the fork's per-model metadata file). The measured PLCC drop and when it was measured go into the
// sidecar (the fork's schema allows no extra registry fields, and tinyqat writes registries that the
// fork's own validator accepts).
//
// Reading validates against the schema (valijson) and the rules the schema states only in words
// (unique ids, int8_sha256 when quantized, paths inside the folder); every violation is named. Writing
// validates first, then replaces the file atomically (temporary file, fsync, rename) with the schema's
// key order, so a registry on disk is always complete and valid.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tinyqat::registry {

namespace fs = std::filesystem;

// The fork's schema, verbatim.
const char* schema_text();

// PLCC budget when an entry records none (the seed's numbers): qat 0.002, static 0.005, dynamic 0.01;
// fp32 entries have nothing to gate (the schema's default 0.01 is returned).
double default_budget(std::string_view quant_mode);
bool is_quant_mode(std::string_view mode);
bool is_valid_id(std::string_view id);  // the schema's ^[a-z0-9][a-z0-9_-]*$, at most 64 characters

struct Entry {
  std::string id, kind, onnx, sha256;
  std::optional<int64_t> opset;
  std::optional<std::string> notes;
  std::optional<bool> smoke;
  std::optional<std::string> quant_mode;
  std::optional<std::string> quant_calibration_set;
  std::optional<std::string> int8_sha256;
  std::optional<double> quant_accuracy_budget_plcc;
  std::optional<std::string> license, license_url, sigstore_bundle, description;

  std::string mode() const { return quant_mode.value_or("fp32"); }
  bool quantized() const { return mode() != "fp32"; }
  bool is_smoke() const { return smoke.value_or(false); }
  double budget() const { return quant_accuracy_budget_plcc.value_or(default_budget(mode())); }
};

struct Registry {
  std::string path;                       // the registry file
  std::optional<std::string> schema_uri;  // "$schema", kept when present
  int64_t schema_version = 1;
  std::vector<Entry> models;

  const Entry* find(std::string_view id) const;
  Entry* find(std::string_view id);
  const Entry& at(std::string_view id) const;  // Error naming the known ids when absent
  fs::path dir() const;
  fs::path onnx_path(const Entry& e) const;
  fs::path int8_path(const Entry& e) const;     // <stem>.int8.onnx beside the fp32 file
  fs::path sidecar_path(const Entry& e) const;  // <stem>.json beside the fp32 file
};

// "<stem>.int8.onnx" / "<stem>.json" for a registry-relative "<stem>.onnx".
std::string int8_name(const std::string& onnx);
std::string sidecar_name(const std::string& onnx);

struct Violation {
  std::string where;    // JSON path: "models[2].sha256", "" for the document
  std::string message;  // what is wrong, with the value and the rule
};
struct Validation {
  std::vector<Violation> errors;    // schema violations and broken rules: the registry is refused
  std::vector<Violation> warnings;  // rules the schema states as advice (opset, licence, calibration set)
};
std::string format(const Violation& v);

// Validates a registry document given as text (not JSON is one violation).
Validation validate_text(const std::string& text);

// Largest registry or sidecar file read (the fork's registry is a few KiB; a thousand entries stay under
// 1 MiB).
inline constexpr uint64_t kMaxRegistryBytes = uint64_t(64) << 20;
// Reads and validates; throws Error "<path>: N problems:" followed by one line per violation.
Registry load_registry(const std::string& path);
Registry parse_registry(const std::string& text, const std::string& path);

// Serialises with the schema's key order, two-space indent, trailing newline.
std::string to_text(const Registry& r);
// Validates (Error on any violation: nothing is written), then writes atomically to r.path.
void save_registry(const Registry& r);

// The measured drop, kept in the sidecar next to the model.
struct Measurement {
  double drop_plcc = 0;     // 1 − PLCC(fp32, int8), the worst output
  double budget = 0;        // the budget it was measured against
  std::string measured_at;  // UTC, ISO 8601
  std::string int8_sha256;  // the int8 file it was measured on
  std::string data;         // evaluation data (file name and sha256)
  int64_t samples = 0;
};
// nullopt when the sidecar or its measurement is absent; Error when the sidecar is not readable JSON or
// the measurement's fields have the wrong types.
std::optional<Measurement> read_measurement(const Registry& r, const Entry& e);
// Writes (or updates) the sidecar: the registry fields the fork mirrors there (id, kind, onnx, opset,
// sha256, quant_mode, int8_sha256, budget) and, when given, the measurement. Other keys are kept in
// their order. Atomic.
void write_sidecar(const Registry& r, const Entry& e, const std::optional<Measurement>& m);

// Every entry's files: present and matching their pinned digests (core/sha256.h read_pinned), the sidecar's
// measurement readable. One violation per problem, named "models[i] (id)".
std::vector<Violation> check_files(const Registry& r);

// Why an int8 twin does not keep its fp32 model's interface (ir/interface.h: the same input/output names,
// dtypes and shapes), as one phrase naming the twin, or nothing when it does. Bytes that do not parse as
// ONNX are not compared here: loading them says what is wrong.
std::optional<std::string> twin_interface_difference(const std::vector<uint8_t>& fp32,
                                                     const std::vector<uint8_t>& int8,
                                                     const std::string& int8_path);

std::string utc_now_iso8601();

}  // namespace tinyqat::registry
