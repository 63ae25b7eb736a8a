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

}  // namespace

Registered register_artifact(const Artifact& a) {
  Registered out;
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

  std::error_code ec;
  Registry reg;
  if (fs::exists(a.registry, ec)) {
    reg = load_registry(a.registry);
  } else {
    reg.path = a.registry;
    reg.schema_version = 1;
  }
  Entry* existing = reg.find(a.id);
  TQ_CHECK(!existing || a.replace,
           "{}: id '{}' is already registered (change it with `tinyqat registry set`)", a.registry, a.id);

  // The models: read once, checked to load, digested.
  std::vector<uint8_t> fp32_bytes = read_file(a.fp32);
  Model fp32 = import_onnx_bytes(fp32_bytes.data(), fp32_bytes.size(),
                                 fs::path(a.fp32).parent_path().string(), a.fp32);
  const std::string fp32_sha = sha256_hex(fp32_bytes);
  std::vector<uint8_t> int8_bytes;
  std::string int8_sha;
  std::optional<Model> int8;
  if (!a.int8.empty()) {
    int8_bytes = read_file(a.int8);
    int8 = import_onnx_bytes(int8_bytes.data(), int8_bytes.size(), fs::path(a.int8).parent_path().string(),
                             a.int8);
    int8_sha = sha256_hex(int8_bytes);
  }

  Entry e = existing ? *existing : Entry{};
  e.id = a.id;
  if (!existing) e.onnx = a.id + ".onnx";
  if (!a.kind.empty()) e.kind = a.kind;
  if (e.kind.empty()) {
    e.kind = infer_kind(fp32);
    TQ_CHECK(!e.kind.empty(), "{}: cannot tell the kind of {} from its shapes; give --kind fr|nr|filter",
             a.registry, a.fp32);
  }
  if (existing && existing->sha256 != fp32_sha)
    out.summary +=
        fmt::format("replacing the fp32 model of '{}' (sha256 {} → {})\n", a.id, existing->sha256, fp32_sha);
  e.sha256 = fp32_sha;
  e.opset = fp32.opset;
  e.quant_mode = mode;
  if (mode == "fp32")
    e.int8_sha256.reset();
  else
    e.int8_sha256 = int8_sha;
  if (a.budget) e.quant_accuracy_budget_plcc = *a.budget;
  if (a.calibration_set) e.quant_calibration_set = *a.calibration_set;
  if (a.license) e.license = *a.license;
  if (a.notes) e.notes = *a.notes;
  if (a.description) e.description = *a.description;
  if (a.smoke) e.smoke = *a.smoke;
  if (existing)
    *existing = e;
  else
    reg.models.push_back(e);

  // Everything is checked before the first file is touched.
  Validation val = validate_text(to_text(reg));
  if (!val.errors.empty()) {
    std::string msg = fmt::format(
        "{}: registering '{}' would make the registry invalid (nothing written):", a.registry, a.id);
    for (const auto& v : val.errors) msg += "\n  " + format(v);
    throw Error(msg);
  }
  if (a.measurement && a.eval_data.empty() && !a.int8.empty()) {
    Measurement m = *a.measurement;
    m.int8_sha256 = int8_sha;
    m.budget = e.budget();
    if (m.measured_at.empty()) m.measured_at = utc_now_iso8601();
    out.measurement = m;
  }
  if (!a.eval_data.empty()) {
    const NamedTensors data = read_model_data({a.eval_data}, names_of(fp32.graph.inputs), "--eval").inputs;
    quant::DropMeasurement d;
    try {
      d = quant::measure_drop(fp32, *int8, data, a.threads);
    } catch (const Error& err) {
      fail("{}: {}", a.eval_data, err.what());
    }
    Measurement m;
    m.drop_plcc = d.drop;
    m.budget = e.budget();
    m.measured_at = utc_now_iso8601();
    m.int8_sha256 = int8_sha;
    m.data =
        fmt::format("{} (sha256 {})", fs::path(a.eval_data).filename().string(), sha256_file(a.eval_data));
    m.samples = d.comparison.samples;
    out.measurement = m;
  }

  const fs::path fp32_dest = reg.onnx_path(e);
  if (place(fp32_bytes, fp32_sha, fp32_dest))
    out.summary += fmt::format("copied {} → {}\n", a.fp32, fp32_dest.string());
  if (!a.int8.empty()) {
    const fs::path int8_dest = reg.int8_path(e);
    if (place(int8_bytes, int8_sha, int8_dest))
      out.summary += fmt::format("copied {} → {}\n", a.int8, int8_dest.string());
  }
  // A new entry's sidecar starts from the source model's sidecar (the fork's input names, features,
  // normalisation...) when there is one.
  const fs::path src_sidecar =
      fs::path(a.fp32).parent_path() / sidecar_name(fs::path(a.fp32).filename().string());
  const fs::path dst_sidecar = reg.sidecar_path(e);
  if (!fs::exists(dst_sidecar, ec) && fs::exists(src_sidecar, ec)) {
    std::vector<uint8_t> sc = read_file(src_sidecar.string());
    write_file_atomic(dst_sidecar.string(), sc);
    out.summary += fmt::format("sidecar from {}\n", src_sidecar.string());
  }
  write_sidecar(reg, e, out.measurement);
  save_registry(reg);
  out.entry = e;
  out.summary += fmt::format("{}: {} '{}' ({}, {}), sha256 {}", a.registry, existing ? "updated" : "added",
                             e.id, e.kind, mode, e.sha256);
  if (e.int8_sha256) out.summary += fmt::format(", int8_sha256 {}", *e.int8_sha256);
  if (e.quantized())
    out.summary +=
        fmt::format(", budget {:.6g}{}", e.budget(), e.quant_accuracy_budget_plcc ? "" : " (default)");
  if (out.measurement)
    out.summary +=
        fmt::format(", measured PLCC drop {:.3e} ({})", out.measurement->drop_plcc,
                    out.measurement->drop_plcc <= e.budget() ? "within budget"
                                                             : "OVER budget: the runtime will run fp32");
  out.summary += "\n";
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
