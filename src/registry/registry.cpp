#include "registry/registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "core/json_dump.h"
#include "core/model_paths.h"
#include "core/sha256.h"
#include "onnx/onnx_io.h"
#include "registry/json_text.h"
#include "registry/schema_errors.h"

namespace tinyqat::registry {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

double default_budget(std::string_view mode) {
  if (mode == "qat") return 0.002;
  if (mode == "static") return 0.005;
  return 0.01;  // dynamic, and the schema's default for anything else
}

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(id[0])) return false;
  for (char c : id)
    if (!lower_or_digit(c) && c != '_' && c != '-') return false;
  return true;
}

bool is_quant_mode(std::string_view m) {
  return m == "fp32" || m == "dynamic" || m == "static" || m == "qat";
}

// ---------------------------------------------------------------------------------------------------
// Paths

std::string int8_name(const std::string& onnx) {
  return int8_twin(onnx);
}
std::string sidecar_name(const std::string& onnx) {
  return onnx_stem(onnx) + ".json";
}

const Entry* Registry::find(std::string_view id) const {
  for (const auto& e : models)
    if (e.id == id) return &e;
  return nullptr;
}
Entry* Registry::find(std::string_view id) {
  for (auto& e : models)
    if (e.id == id) return &e;
  return nullptr;
}
const Entry& Registry::at(std::string_view id) const {
  if (const Entry* e = find(id)) return *e;
  std::string known;
  for (const auto& m : models) known += (known.empty() ? "" : ", ") + m.id;
  fail("{}: no model with id '{}' (known: {})", path, id, known.empty() ? "none" : known);
}
fs::path Registry::dir() const {
  fs::path p(path);
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}
fs::path Registry::onnx_path(const Entry& e) const {
  return dir() / e.onnx;
}
fs::path Registry::int8_path(const Entry& e) const {
  return dir() / int8_name(e.onnx);
}
fs::path Registry::sidecar_path(const Entry& e) const {
  return dir() / sidecar_name(e.onnx);
}

// ---------------------------------------------------------------------------------------------------
// Validation

std::string format(const Violation& v) {
  // A path is made of the document's keys, which may be of any length: shown up to 200 bytes.
  const std::string where = v.where.size() > 200 ? std::string(utf8_prefix(v.where, 197)) + "..." : v.where;
  return where.empty() ? v.message : where + ": " + v.message;
}

namespace {

// A registry-relative path must stay inside the folder: no absolute path, no '.', '..' or empty part.
std::optional<std::string> escape_problem(const std::string& p) {
  if (p.empty()) return "empty path";
  if (p.front() == '/') return "absolute path";
  size_t b = 0;
  while (b <= p.size()) {
    size_t e = p.find('/', b);
    if (e == std::string::npos) e = p.size();
    std::string part = p.substr(b, e - b);
    if (part == "..") return "'..' escapes the registry folder";
    if (part == "." || part.empty()) return "'" + part + "' part (write the plain relative path)";
    b = e + 1;
  }
  return std::nullopt;
}

void check_rules(const json& doc, Validation& val) {
  if (!doc.is_object() || !doc.contains("models") || !doc["models"].is_array()) return;
  const json& models = doc["models"];
  std::map<std::string, size_t> first;
  int64_t version = doc.contains("schema_version") && doc["schema_version"].is_number_integer()
                        ? doc["schema_version"].get<int64_t>()
                        : 1;
  for (size_t i = 0; i < models.size(); ++i) {
    const json& m = models[i];
    if (!m.is_object()) continue;
    const std::string at = fmt::format("models[{}]", i);
    auto str = [&](const char* k) -> std::optional<std::string> {
      if (m.contains(k) && m[k].is_string()) return m[k].get<std::string>();
      return std::nullopt;
    };
    if (auto id = str("id")) {
      auto [it, fresh] = first.emplace(*id, i);
      if (!fresh)
        val.errors.push_back(
            {at + ".id", fmt::format("duplicate id '{}' (also models[{}])", *id, it->second)});
    }
    for (const char* k : {"onnx", "sigstore_bundle"})
      if (auto p = str(k))
        if (auto why = escape_problem(*p))
          val.errors.push_back({at + "." + k, fmt::format("'{}': {}", *p, *why)});
    std::string mode = str("quant_mode").value_or("fp32");
    if (is_quant_mode(mode) && mode != "fp32" && !m.contains("int8_sha256"))
      val.errors.push_back({at + ".int8_sha256", fmt::format("required when quant_mode is '{}' (the runtime "
                                                             "verifies the int8 file before loading it)",
                                                             mode)});
    if (auto o = str("onnx");
        o && mode != "fp32" && o->size() > 10 && o->compare(o->size() - 10, 10, kInt8Suffix) == 0)
      val.errors.push_back({at + ".onnx", fmt::format("'{}' is an int8 file; 'onnx' names the fp32 model and "
                                                      "the int8 twin is found beside it",
                                                      *o)});
    if (mode == "fp32" && m.contains("int8_sha256"))
      val.warnings.push_back({at + ".int8_sha256", "ignored: quant_mode is fp32"});
    if (mode == "static" && !m.contains("quant_calibration_set"))
      val.warnings.push_back(
          {at + ".quant_calibration_set", "the schema asks for it with quant_mode 'static'"});
    bool smoke = m.contains("smoke") && m["smoke"].is_boolean() && m["smoke"].get<bool>();
    if (!smoke && !m.contains("opset"))
      val.warnings.push_back({at + ".opset", "the schema asks for it on non-smoke models"});
    if (version >= 1 && !m.contains("license"))
      val.warnings.push_back({at + ".license", "the schema asks for it from schema_version 1 on"});
  }
}

}  // namespace

Validation validate_text(const std::string& text) {
  Validation val;
  json doc;
  try {
    doc = parse_json_text<json>(text);
  } catch (const JsonTextError& e) {  // not JSON, nested too deep, a key repeated
    val.errors.push_back({e.where, e.what()});
    return val;
  }
  val.errors = schema_violations(doc);
  check_rules(doc, val);
  return val;
}

namespace {

Entry entry_from(const json& m) {
  Entry e;
  e.id = m.at("id").get<std::string>();
  e.kind = m.at("kind").get<std::string>();
  e.onnx = m.at("onnx").get<std::string>();
  e.sha256 = m.at("sha256").get<std::string>();
  auto opt_s = [&](const char* k, std::optional<std::string>& dst) {
    if (m.contains(k)) dst = m[k].get<std::string>();
  };
  if (m.contains("opset")) e.opset = m["opset"].get<int64_t>();
  opt_s("notes", e.notes);
  if (m.contains("smoke")) e.smoke = m["smoke"].get<bool>();
  opt_s("quant_mode", e.quant_mode);
  opt_s("quant_calibration_set", e.quant_calibration_set);
  opt_s("int8_sha256", e.int8_sha256);
  if (m.contains("quant_accuracy_budget_plcc"))
    e.quant_accuracy_budget_plcc = m["quant_accuracy_budget_plcc"].get<double>();
  opt_s("license", e.license);
  opt_s("license_url", e.license_url);
  opt_s("sigstore_bundle", e.sigstore_bundle);
  opt_s("description", e.description);
  return e;
}

ojson entry_json(const Entry& e) {
  // The schema's property order.
  ojson m;
  m["id"] = e.id;
  m["kind"] = e.kind;
  m["onnx"] = e.onnx;
  m["sha256"] = e.sha256;
  if (e.opset) m["opset"] = *e.opset;
  if (e.notes) m["notes"] = *e.notes;
  if (e.smoke) m["smoke"] = *e.smoke;
  if (e.quant_mode) m["quant_mode"] = *e.quant_mode;
  if (e.quant_calibration_set) m["quant_calibration_set"] = *e.quant_calibration_set;
  if (e.int8_sha256) m["int8_sha256"] = *e.int8_sha256;
  if (e.quant_accuracy_budget_plcc) m["quant_accuracy_budget_plcc"] = *e.quant_accuracy_budget_plcc;
  if (e.license) m["license"] = *e.license;
  if (e.license_url) m["license_url"] = *e.license_url;
  if (e.sigstore_bundle) m["sigstore_bundle"] = *e.sigstore_bundle;
  if (e.description) m["description"] = *e.description;
  return m;
}

[[noreturn]] void refuse(const std::string& path, const std::vector<Violation>& errors) {
  if (errors.size() == 1) fail("{}: {}", path, format(errors[0]));
  std::string msg = fmt::format("{}: {} problems:", path, errors.size());
  for (const auto& v : errors) msg += "\n  " + format(v);
  throw Error(msg);
}

}  // namespace

Registry parse_registry(const std::string& text, const std::string& path) {
  Validation val = validate_text(text);
  if (!val.errors.empty()) refuse(path, val.errors);
  json doc = parse_json_text<json>(text);
  Registry r;
  r.path = path;
  if (doc.contains("$schema")) r.schema_uri = doc["$schema"].get<std::string>();
  r.schema_version = doc["schema_version"].get<int64_t>();
  for (const auto& m : doc["models"]) r.models.push_back(entry_from(m));
  return r;
}

Registry load_registry(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path, kMaxRegistryBytes);
  return parse_registry(std::string(bytes.begin(), bytes.end()), path);
}

std::string to_text(const Registry& r) {
  ojson doc;
  if (r.schema_uri) doc["$schema"] = *r.schema_uri;
  doc["schema_version"] = r.schema_version;
  doc["models"] = ojson::array();
  for (const auto& e : r.models) doc["models"].push_back(entry_json(e));
  return json_dump(doc, 2) + "\n";
}

void save_registry(const Registry& r) {
  TQ_CHECK(!r.path.empty(), "registry: no file to write to");
  std::string text = to_text(r);
  Validation val = validate_text(text);
  if (!val.errors.empty()) refuse(r.path + " (not written)", val.errors);
  write_file_atomic(r.path, text);
}

// ---------------------------------------------------------------------------------------------------
// Sidecar

namespace {
ojson read_sidecar(const fs::path& p, bool* exists) {
  std::error_code ec;
  *exists = fs::exists(p, ec);
  if (!*exists) return ojson::object();
  std::vector<uint8_t> bytes = read_file(p.string(), kMaxRegistryBytes);
  ojson j;
  try {
    j = parse_json_text<ojson>(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const JsonTextError& e) {  // not JSON, nested too deep, a key repeated
    fail("{}: sidecar: {}", p.string(), e.located());
  }
  TQ_CHECK(j.is_object(), "{}: sidecar is not a JSON object", p.string());
  return j;
}
}  // namespace

std::optional<Measurement> read_measurement(const Registry& r, const Entry& e) {
  bool exists = false;
  fs::path p = r.sidecar_path(e);
  ojson j = read_sidecar(p, &exists);
  if (!exists || !j.contains("quant_measurement")) return std::nullopt;
  const ojson& q = j["quant_measurement"];
  auto bad = [&](const char* what) { fail("{}: quant_measurement.{}", p.string(), what); };
  if (!q.is_object()) bad("is not an object");
  if (!q.contains("drop_plcc") || !q["drop_plcc"].is_number()) bad("drop_plcc: missing or not a number");
  if (!q.contains("int8_sha256") || !q["int8_sha256"].is_string())
    bad("int8_sha256: missing or not a string");
  // 1 − PLCC lies in [0, 2]; anything else (a negative drop always "within budget") is refused.
  auto in_range = [&](const char* k) {
    double v = q[k].get<double>();
    if (!std::isfinite(v) || v < 0.0 || v > 2.0)
      fail("{}: quant_measurement.{}: {} is outside [0, 2]", p.string(), k, v);
    return v;
  };
  Measurement m;
  m.drop_plcc = in_range("drop_plcc");
  m.int8_sha256 = q["int8_sha256"].get<std::string>();
  if (q.contains("budget_plcc") && q["budget_plcc"].is_number()) m.budget = in_range("budget_plcc");
  if (q.contains("measured_at") && q["measured_at"].is_string())
    m.measured_at = q["measured_at"].get<std::string>();
  if (q.contains("data") && q["data"].is_string()) m.data = q["data"].get<std::string>();
  if (q.contains("samples") && q["samples"].is_number_integer()) m.samples = q["samples"].get<int64_t>();
  return m;
}

void write_sidecar(const Registry& r, const Entry& e, const std::optional<Measurement>& m) {
  bool exists = false;
  fs::path p = r.sidecar_path(e);
  ojson j = read_sidecar(p, &exists);
  // The fields the fork mirrors from the registry: set, or removed when the entry has none (a sidecar
  // seeded from another model's must not keep that model's values).
  auto mirror = [&](const char* key, const auto& v) {
    if (v)
      j[key] = *v;
    else
      j.erase(key);
  };
  j["id"] = e.id;
  j["kind"] = e.kind;
  j["onnx"] = e.onnx;
  mirror("opset", e.opset);
  j["sha256"] = e.sha256;
  mirror("quant_mode", e.quant_mode);
  mirror("int8_sha256", e.int8_sha256);
  mirror("quant_accuracy_budget_plcc", e.quant_accuracy_budget_plcc);
  if (m) {
    ojson q;
    q["drop_plcc"] = m->drop_plcc;
    q["budget_plcc"] = m->budget;
    q["measured_at"] = m->measured_at;
    q["int8_sha256"] = m->int8_sha256;
    q["data"] = m->data;
    q["samples"] = m->samples;
    j["quant_measurement"] = q;
  }
  write_file_atomic(p.string(), json_dump(j, 2) + "\n");
}

namespace {
// A file the registry names must stay in its folder once links are followed: a symlink to a file outside
// the folder would let the registry pin (and the runtime load) something it does not hold.
std::optional<std::string> link_escape(const fs::path& dir, const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(p, ec))) return std::nullopt;
  fs::path base = fs::weakly_canonical(dir, ec);
  if (ec) return fmt::format("{}: cannot resolve the registry folder: {}", p.string(), ec.message());
  fs::path full = fs::weakly_canonical(p, ec);
  if (ec) return fmt::format("{}: cannot resolve: {}", p.string(), ec.message());
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end())
    return fmt::format(
        "{} resolves to {}, outside the registry folder (a link leaving the folder is refused)", p.string(),
        full.string());
  return std::nullopt;
}
}  // namespace

std::optional<std::string> twin_interface_difference(const std::vector<uint8_t>& fp32,
                                                     const std::vector<uint8_t>& int8,
                                                     const std::string& int8_path) {
  Interface want, got;
  try {
    want = read_onnx_interface(fp32.data(), fp32.size(), "fp32");
    got = read_onnx_interface(int8.data(), int8.size(), int8_path);
  } catch (const Error&) {
    return std::nullopt;
  }
  std::optional<std::string> why = interface_difference(want, got);
  if (!why) return std::nullopt;
  return fmt::format("int8 file {} does not keep the fp32 model's interface: {}", int8_path, *why);
}

std::vector<Violation> check_files(const Registry& r) {
  std::vector<Violation> out;
  for (size_t i = 0; i < r.models.size(); ++i) {
    const Entry& e = r.models[i];
    const std::string at = fmt::format("models[{}] ({})", i, e.id);
    auto check = [&](const fs::path& p, const std::string& want, const char* what) -> std::vector<uint8_t> {
      if (auto why = link_escape(r.dir(), p)) {
        out.push_back({at, fmt::format("{} file {}", what, *why)});
        return {};
      }
      PinnedFile f = read_pinned(p.string(), want, "the registry");
      if (!f.ok()) out.push_back({at, fmt::format("{} file {}", what, f.problem)});
      return std::move(f.bytes);
    };
    const std::vector<uint8_t> fp32 = check(r.onnx_path(e), e.sha256, "fp32");
    if (e.quantized() && e.int8_sha256) {
      const std::vector<uint8_t> int8 = check(r.int8_path(e), *e.int8_sha256, "int8");
      if (!fp32.empty() && !int8.empty())
        if (auto why = twin_interface_difference(fp32, int8, r.int8_path(e).string()))
          out.push_back({at, *why});
    }
    if (auto why = link_escape(r.dir(), r.sidecar_path(e))) out.push_back({at, "sidecar " + *why});
    try {
      (void)read_measurement(r, e);
    } catch (const Error& err) {
      out.push_back({at, err.what()});
    }
  }
  return out;
}

std::string utc_now_iso8601() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace tinyqat::registry
