#include "handoff/handoff.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "core/sha256.h"
#include "handoff/gate.h"
#include "io/model_data.h"
#include "onnx/onnx_io.h"

namespace tinyqat::handoff {

using namespace registry;  // the registry's types and files are what this folder writes

std::string infer_kind(const Model& m) {
  if (m.graph.inputs.empty() || m.graph.outputs.empty()) return "";
  const auto& in = m.graph.inputs[0];
  const auto& out = m.graph.outputs[0];
  if (!in.has_shape || !out.has_shape) return "";
  if (in.shape.size() == 4 && out.shape.size() == 4) return "filter";
  if (in.shape.size() == 4 && out.shape.size() <= 2) return "nr";
  if (in.shape.size() == 2) return "fr";
  return "";
}

namespace {

void check_budget(double b, const std::string& what) {
  TQ_CHECK(b >= 0.0 && b <= 1.0, "{}: budget {} is outside [0, 1]", what, b);
}

// Copies `bytes` to `dest` unless it already holds exactly them.
bool place(const std::vector<uint8_t>& bytes, const std::string& digest, const fs::path& dest) {
  std::error_code ec;
  if (fs::exists(dest, ec)) {
    try {
      if (sha256_file(dest.string()) == digest) return false;
    } catch (const Error&) {
    }
  }
  if (dest.has_parent_path()) fs::create_directories(dest.parent_path());
  write_file_atomic(dest.string(), bytes);
  return true;
}

// The quant_mode the artifact registers as, once the request is checked (nothing read yet).
std::string checked_mode(const Artifact& a) {
  TQ_CHECK(!a.registry.empty(), "register: no registry file given");
  TQ_CHECK(is_valid_id(a.id),
           "{}: id '{}' must be lowercase letters, digits, '_' or '-' (starting with a letter or digit), at "
           "most 64 characters",
           a.registry, a.id);
  std::string mode = !a.quant_mode.empty() ? a.quant_mode : (a.int8.empty() ? "fp32" : "dynamic");
  TQ_CHECK(is_quant_mode(mode), "{}: unknown quant_mode '{}' (fp32, dynamic, static or qat)", a.registry,
           mode);
  TQ_CHECK(mode == "fp32" || !a.int8.empty(), "{}: quant_mode '{}' needs the int8 model", a.registry, mode);
  TQ_CHECK(mode != "fp32" || a.int8.empty(), "{}: an int8 model was given but quant_mode is fp32",
           a.registry);
  TQ_CHECK(a.eval_data.empty() || !a.int8.empty(), "{}: evaluation data measures an int8 model; none given",
           a.registry);
  if (a.budget) check_budget(*a.budget, a.registry);
  if (!a.kind.empty())
    TQ_CHECK(a.kind == "fr" || a.kind == "nr" || a.kind == "filter", "{}: kind '{}' is not fr, nr or filter",
             a.registry, a.kind);
  return mode;
}

// The registry to add to, or a new one (schema_version 1) when the file is not there yet.
Registry open_registry(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return load_registry(path);
  Registry reg;
  reg.path = path;
  reg.schema_version = 1;
  return reg;
}

// A model file to register: read once, checked to load, digested.
struct ModelFile {
  std::string path;
  std::vector<uint8_t> bytes;
  std::string sha256;
  Model model;
};

ModelFile read_model_file(const std::string& path) {
  ModelFile f;
  f.path = path;
  f.bytes = read_file(path);
  f.model = import_onnx_bytes(f.bytes.data(), f.bytes.size(), fs::path(path).parent_path().string(), path);
  f.sha256 = sha256_hex(f.bytes);
  return f;
}

// The entry as it will be: the existing one (its file names kept) updated with the artifact's fields.
Entry entry_for(const Artifact& a, const Entry* existing, const ModelFile& fp32, const ModelFile* int8,
                const std::string& mode) {
  Entry e = existing ? *existing : Entry{};
  e.id = a.id;
  if (!existing) e.onnx = a.id + ".onnx";
  if (!a.kind.empty()) e.kind = a.kind;
  if (e.kind.empty()) {
    e.kind = infer_kind(fp32.model);
    TQ_CHECK(!e.kind.empty(), "{}: cannot tell the kind of {} from its shapes; give --kind fr|nr|filter",
             a.registry, a.fp32);
  }
  e.sha256 = fp32.sha256;
  e.opset = fp32.model.opset;
  e.quant_mode = mode;
  if (int8)
    e.int8_sha256 = int8->sha256;
  else
    e.int8_sha256.reset();
  if (a.budget) e.quant_accuracy_budget_plcc = *a.budget;
  if (a.calibration_set) e.quant_calibration_set = *a.calibration_set;
  if (a.license) e.license = *a.license;
  if (a.notes) e.notes = *a.notes;
  if (a.description) e.description = *a.description;
  if (a.smoke) e.smoke = *a.smoke;
  return e;
}

void check_would_be_valid(const Registry& reg, const Artifact& a) {
  Validation val = validate_text(to_text(reg));
  if (val.errors.empty()) return;
  std::string msg = fmt::format(
      "{}: registering '{}' would make the registry invalid (nothing written):", a.registry, a.id);
  for (const auto& v : val.errors) msg += "\n  " + format(v);
  throw Error(msg);
}

// The drop to record: measured now on --eval data, or the one the caller measured (the ladder).
std::optional<Measurement> measurement_for(const Artifact& a, const Entry& e, const ModelFile& fp32,
                                           const ModelFile* int8) {
  if (!int8) return std::nullopt;
  if (a.eval_data.empty()) {
    if (!a.measurement) return std::nullopt;
    Measurement m = *a.measurement;
    m.int8_sha256 = int8->sha256;
    m.budget = e.budget();
    if (m.measured_at.empty()) m.measured_at = utc_now_iso8601();
    return m;
  }
  const NamedTensors data =
      read_model_data({a.eval_data}, names_of(fp32.model.graph.inputs), "--eval").inputs;
  quant::DropMeasurement d;
  try {
    d = quant::measure_drop(fp32.model, int8->model, data, a.threads);
  } catch (const Error& err) {
    fail("{}: {}", a.eval_data, err.what());
  }
  Measurement m;
  m.drop_plcc = d.drop;
  m.budget = e.budget();
  m.measured_at = utc_now_iso8601();
  m.int8_sha256 = int8->sha256;
  m.data = fmt::format("{} (sha256 {})", fs::path(a.eval_data).filename().string(), sha256_file(a.eval_data));
  m.samples = d.comparison.samples;
  return m;
}

// Copies the models beside the registry (unless already there) and seeds a new entry's sidecar from the
// source model's (the fork's input names, features, normalisation...). Returns what was done.
std::string place_files(const Registry& reg, const Entry& e, const ModelFile& fp32, const ModelFile* int8) {
  std::string done;
  const fs::path fp32_dest = reg.onnx_path(e);
  if (place(fp32.bytes, fp32.sha256, fp32_dest))
    done += fmt::format("copied {} → {}\n", fp32.path, fp32_dest.string());
  if (int8) {
    const fs::path int8_dest = reg.int8_path(e);
    if (place(int8->bytes, int8->sha256, int8_dest))
      done += fmt::format("copied {} → {}\n", int8->path, int8_dest.string());
  }
  const fs::path src_sidecar =
      fs::path(fp32.path).parent_path() / sidecar_name(fs::path(fp32.path).filename().string());
  const fs::path dst_sidecar = reg.sidecar_path(e);
  std::error_code ec;
  if (!fs::exists(dst_sidecar, ec) && fs::exists(src_sidecar, ec)) {
    write_file_atomic(dst_sidecar.string(), read_file(src_sidecar.string()));
    done += fmt::format("sidecar from {}\n", src_sidecar.string());
  }
  return done;
}

std::string summary_line(const Artifact& a, const Entry& e, bool updated,
                         const std::optional<Measurement>& m) {
  std::string s = fmt::format("{}: {} '{}' ({}, {}), sha256 {}", a.registry, updated ? "updated" : "added",
                              e.id, e.kind, e.mode(), e.sha256);
  if (e.int8_sha256) s += fmt::format(", int8_sha256 {}", *e.int8_sha256);
  if (e.quantized())
    s += fmt::format(", budget {:.6g}{}", e.budget(), e.quant_accuracy_budget_plcc ? "" : " (default)");
  if (m)
    s += fmt::format(", measured PLCC drop {:.3e} ({})", m->drop_plcc,
                     m->drop_plcc <= e.budget() ? "within budget" : "OVER budget: the runtime will run fp32");
  return s + "\n";
}

}  // namespace

Registered register_artifact(const Artifact& a) {
  const std::string mode = checked_mode(a);
  Registry reg = open_registry(a.registry);
  Entry* existing = reg.find(a.id);
  TQ_CHECK(!existing || a.replace,
           "{}: id '{}' is already registered (change it with `tinyqat registry set`)", a.registry, a.id);
  const ModelFile fp32 = read_model_file(a.fp32);
  std::optional<ModelFile> int8;
  if (!a.int8.empty()) int8 = read_model_file(a.int8);
  const ModelFile* int8_file = int8 ? &*int8 : nullptr;

  Registered out;
  out.entry = entry_for(a, existing, fp32, int8_file, mode);
  if (existing && existing->sha256 != fp32.sha256)
    out.summary += fmt::format("replacing the fp32 model of '{}' (sha256 {} → {})\n", a.id, existing->sha256,
                               fp32.sha256);
  const bool updated = existing != nullptr;
  if (existing)
    *existing = out.entry;
  else
    reg.models.push_back(out.entry);

  // Everything is checked (and measured) before the first file is touched; the registry is written last.
  check_would_be_valid(reg, a);
  out.measurement = measurement_for(a, out.entry, fp32, int8_file);
  out.summary += place_files(reg, out.entry, fp32, int8_file);
  write_sidecar(reg, out.entry, out.measurement);
  save_registry(reg);
  out.summary += summary_line(a, out.entry, updated, out.measurement);
  return out;
}

void set_field(Registry& r, const std::string& id, const std::string& field, const std::string& value) {
  Entry* e = r.find(id);
  if (!e) (void)r.at(id);  // throws, naming the known ids
  const std::string what = fmt::format("{}: {}.{}", r.path, id, field);
  auto opt_str = [&](std::optional<std::string>& dst) {
    if (value.empty())
      dst.reset();
    else
      dst = value;
  };
  auto parse_double = [&](const std::string& v) {
    size_t used = 0;
    double d = 0;
    try {
      d = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TQ_CHECK(used == v.size() && !v.empty(), "{}: '{}' is not a number", what, v);
    return d;
  };
  auto digest_of = [&](const fs::path& p) { return sha256_file(p.string()); };
  if (field == "id" || field == "onnx") {
    fail("{}: cannot be changed with set (register the model under a new id instead)", what);
  } else if (field == "kind") {
    TQ_CHECK(!value.empty(), "{}: required field", what);
    e->kind = value;
  } else if (field == "sha256") {
    TQ_CHECK(!value.empty(), "{}: required field", what);
    e->sha256 = value == "auto" ? digest_of(r.onnx_path(*e)) : value;
  } else if (field == "int8_sha256") {
    if (value.empty())
      e->int8_sha256.reset();
    else
      e->int8_sha256 = value == "auto" ? digest_of(r.int8_path(*e)) : value;
  } else if (field == "quant_mode") {
    if (value.empty() || value == "fp32") {
      e->quant_mode = value.empty() ? std::nullopt : std::optional<std::string>(value);
    } else {
      TQ_CHECK(is_quant_mode(value), "{}: '{}' is not one of fp32, dynamic, static, qat", what, value);
      e->quant_mode = value;
      if (!e->int8_sha256) {
        std::error_code ec;
        TQ_CHECK(fs::exists(r.int8_path(*e), ec), "{}: '{}' needs the int8 file {}, which is not there", what,
                 value, r.int8_path(*e).string());
        e->int8_sha256 = digest_of(r.int8_path(*e));
      }
    }
  } else if (field == "quant_accuracy_budget_plcc" || field == "budget") {
    if (value.empty()) {
      e->quant_accuracy_budget_plcc.reset();
    } else {
      double b = parse_double(value);
      check_budget(b, what);
      e->quant_accuracy_budget_plcc = b;
    }
  } else if (field == "opset") {
    if (value.empty()) {
      e->opset.reset();
    } else {
      double d = parse_double(value);
      TQ_CHECK(d == std::floor(d), "{}: '{}' is not an integer", what, value);
      e->opset = static_cast<int64_t>(d);
    }
  } else if (field == "smoke") {
    if (value.empty())
      e->smoke.reset();
    else {
      TQ_CHECK(value == "true" || value == "false", "{}: '{}' is not true or false", what, value);
      e->smoke = value == "true";
    }
  } else if (field == "notes") {
    opt_str(e->notes);
  } else if (field == "quant_calibration_set") {
    opt_str(e->quant_calibration_set);
  } else if (field == "license") {
    opt_str(e->license);
  } else if (field == "license_url") {
    opt_str(e->license_url);
  } else if (field == "sigstore_bundle") {
    opt_str(e->sigstore_bundle);
  } else if (field == "description") {
    opt_str(e->description);
  } else {
    fail(
        "{}: unknown field (the schema's fields: kind, sha256, opset, notes, smoke, quant_mode, "
        "quant_calibration_set, int8_sha256, quant_accuracy_budget_plcc, license, license_url, "
        "sigstore_bundle, "
        "description)",
        what);
  }
}

}  // namespace tinyqat::handoff
