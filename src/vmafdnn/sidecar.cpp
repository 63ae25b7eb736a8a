// The fork's per-model sidecar "<stem>.json": kind, quant_mode, the registry pins it mirrors (sha256,
// int8_sha256), and optional input normalisation and output range. Parsed as real JSON (the fork
// scans for substrings); a known key of the wrong type is refused rather than ignored.
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "core/model_paths.h"
#include "vmafdnn/vmafdnn.h"

namespace tinyqat::vmafdnn {

namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxSidecarBytes = 1u << 20;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Refusal(-EBADMSG, fmt::format("{}: {}", path, what));
}

std::optional<std::string> opt_string(const json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_string()) bad(path, fmt::format("\"{}\" is not a string", key));
  return j[key].get<std::string>();
}

// A number, or an array holding one number (a per-channel list for a one-channel model).
std::optional<float> opt_scalar(const json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (v.is_number()) return v.get<float>();
  if (v.is_array() && v.size() == 1 && v[0].is_number()) return v[0].get<float>();
  bad(path, fmt::format("\"{}\" is not a number", key));
}

}  // namespace

Sidecar read_sidecar(const std::string& onnx_path) {
  Sidecar s;
  s.path = onnx_stem(onnx_path) + ".json";
  struct stat st {};
  if (::stat(s.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return s;
    const int e = errno;
    throw Refusal(-e, fmt::format("{}: {}", s.path, std::strerror(e)));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxSidecarBytes)
    throw Refusal(-EFBIG, fmt::format("{}: over {} bytes", s.path, kMaxSidecarBytes));
  std::vector<uint8_t> bytes;
  try {
    bytes = read_file(s.path);
  } catch (const Error& e) {
    throw Refusal(-EIO, e.what());
  }
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) bad(s.path, "not a JSON object");
  s.present = true;
  s.id = opt_string(j, "id", s.path).value_or("");
  s.kind = opt_string(j, "kind", s.path).value_or("");
  const std::string mode = opt_string(j, "quant_mode", s.path).value_or("fp32");
  if (mode == "dynamic" || mode == "static" || mode == "qat") s.quant_mode = mode;
  s.sha256 = opt_string(j, "sha256", s.path);
  s.int8_sha256 = opt_string(j, "int8_sha256", s.path);

  // Normalisation: "norm_mean"/"norm_std", or {"normalization": {"mean", "std"}}.
  std::optional<float> mean = opt_scalar(j, "norm_mean", s.path), sd = opt_scalar(j, "norm_std", s.path);
  if (j.contains("normalization") && j["normalization"].is_object()) {
    const json& n = j["normalization"];
    if (!mean) mean = opt_scalar(n, "mean", s.path);
    if (!sd) sd = opt_scalar(n, "std", s.path);
  } else if (j.contains("normalization") && !j["normalization"].is_null()) {
    bad(s.path, "\"normalization\" is not an object");
  }
  if (mean || sd) {
    s.norm_mean = mean.value_or(0.f);
    s.norm_std = sd.value_or(1.f);
    if (!(s.norm_std > 0.f) || !std::isfinite(s.norm_mean) || !std::isfinite(s.norm_std))
      bad(s.path, "normalisation std must be a positive number and mean finite");
    s.has_norm = true;
  }
  // Output range: "expected_min"/"expected_max", or "output_range": [min, max].
  std::optional<float> lo = opt_scalar(j, "expected_min", s.path), hi = opt_scalar(j, "expected_max", s.path);
  if (j.contains("output_range") && !j["output_range"].is_null()) {
    const json& r = j["output_range"];
    if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
      bad(s.path, "\"output_range\" is not [min, max]");
    lo = r[0].get<float>();
    hi = r[1].get<float>();
  }
  if (lo && hi) {
    if (!(*lo <= *hi)) bad(s.path, "output range min is above max");
    s.has_range = true;
    s.out_min = *lo;
    s.out_max = *hi;
  }
  return s;
}

}  // namespace tinyqat::vmafdnn
