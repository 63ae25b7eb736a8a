// Which file the runtime runs for a registry entry, and why (the fork's vmaf_dnn_session_open rule):
// the fp32 file must match its sha256 or nothing loads; a quantized entry runs its int8 twin only when
// that file is present, matches int8_sha256, keeps the fp32 model's interface (ir/interface.h), and its
// recorded PLCC drop (the sidecar's measurement for exactly that file) is within budget — otherwise it falls
// back to fp32 on its own.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry/registry.h"

namespace tinyqat::registry {

enum class Variant { Fp32 = 0, Int8 = 1 };

// Values match tq_reason in include/tinyqat/session.h.
enum class Reason {
  Fp32Entry = 0,         // quant_mode is fp32
  Fp32Preferred = 1,     // the caller asked for fp32
  Int8WithinBudget = 2,  // int8 verified, recorded drop ≤ budget
  Int8Unmeasured = 3,    // int8 verified, no drop recorded for this file
  Int8Missing = 4,       // fallback: the int8 file is not there
  Int8DigestMismatch = 5,
  Int8OverBudget = 6,
  Int8Unloadable = 7,         // fallback: verified, but the runtime could not load it
  MeasurementUnreadable = 8,  // fallback: the sidecar holding the measurement is not readable
  Int8InterfaceMismatch = 9,  // fallback: the int8 file's inputs/outputs are not the fp32 model's
  Int8SlowerOnThisCpu = 10  // fallback: verified, but predicted slower than fp32 here (runtime/int8_speed.h)
};
const char* name(Variant v);  // "fp32", "int8"
const char* name(Reason r);   // "fp32-entry", "int8-digest-mismatch", ...
bool is_fallback(Reason r);

struct Decision {
  std::string id, quant_mode;
  Variant variant = Variant::Fp32;
  Reason reason = Reason::Fp32Entry;
  std::string text;        // one line saying why
  std::string model_path;  // the file that runs
  std::string sha256;      // its verified digest
  double budget = 0;
  bool budget_recorded = false;  // false: the mode's default
  std::optional<double> recorded_drop;
};

struct Resolved {
  Decision decision;
  std::vector<uint8_t> bytes;  // the verified bytes of the chosen file (load these: no second read)
  // When int8 is chosen: the fp32 twin's bytes, verified by the same call (read for its digest anyway).
  std::vector<uint8_t> fp32_bytes;
};

// Throws Error (refuses) for an unknown id and for a fp32 file that is missing or does not match.
Resolved resolve(const Registry& r, const std::string& id, bool prefer_fp32);

// Key=value lines for scripts (id, variant, reason, path, sha256, quant_mode, budget, recorded_drop, text).
std::string decision_text(const Decision& d);
std::string decision_json(const Decision& d);

}  // namespace tinyqat::registry
