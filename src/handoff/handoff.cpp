#include "handoff/handoff.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>

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
  if (dest.has_parent_path()) {
    fs::create_directories(dest.parent_path(), ec);
    TQ_CHECK(!ec, "{}: cannot create the folder: {}", dest.parent_path().string(), ec.message());
  }
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
  check_registry_target(path);
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

// The three registry-relative names an entry's files take: fp32, int8 twin, sidecar.
std::vector<std::string> file_names(const std::string& onnx) {
  return {onnx, int8_name(onnx), sidecar_name(onnx)};
}
std::set<std::string> referenced_names(const Registry& reg, const Entry* except) {
  std::set<std::string> used;
  for (const auto& m : reg.models)
    if (&m != except)
      for (auto& n : file_names(m.onnx)) used.insert(n);
  return used;
}

// Replacing an entry's pinned files never writes over them: the new files go under a new,
// content-addressed stem `<id>.<sha8>` (sha8: the first 8 hex digits of the sha256 of the two digests),
// beside the old ones, and no other entry may use the name.
std::string fresh_onnx_name(const Registry& reg, const Entry& old, const ModelFile& fp32,
                            const ModelFile* int8) {
  const std::string key = fp32.sha256 + ":" + (int8 ? int8->sha256 : std::string());
  const std::string sha8 = sha256_hex(key.data(), key.size()).substr(0, 8);
  const fs::path folder = fs::path(old.onnx).parent_path();
  const std::set<std::string> used = referenced_names(reg, nullptr);
  for (int n = 1;; ++n) {
    const std::string stem = old.id + "." + sha8 + (n == 1 ? "" : fmt::format("-{}", n));
    const std::string name = (folder / (stem + ".onnx")).generic_string();
    bool free = true;
    for (auto& f : file_names(name)) free = free && !used.count(f);
    if (free) return name;
  }
}

// Copies the models beside the registry (unless already there) and seeds the sidecar: from the entry's
// previous sidecar when the files move to a new stem, else (a new entry) from the source model's (the
// fork's input names, features, normalisation...). Returns what was done.
std::string place_files(const Registry& reg, const Entry& e, const ModelFile& fp32, const ModelFile* int8,
                        const Entry* moved_from) {
  std::string done;
  const fs::path fp32_dest = reg.onnx_path(e);
  if (place(fp32.bytes, fp32.sha256, fp32_dest))
    done += fmt::format("copied {} → {}\n", fp32.path, fp32_dest.string());
  crash_point("register:fp32");
  if (int8) {
    const fs::path int8_dest = reg.int8_path(e);
    if (place(int8->bytes, int8->sha256, int8_dest))
      done += fmt::format("copied {} → {}\n", int8->path, int8_dest.string());
  }
  crash_point("register:int8");
  const fs::path src_sidecar =
      moved_from ? reg.sidecar_path(*moved_from)
                 : fs::path(fp32.path).parent_path() / sidecar_name(fs::path(fp32.path).filename().string());
  const fs::path dst_sidecar = reg.sidecar_path(e);
  std::error_code ec;
  if (moved_from) fs::remove(dst_sidecar, ec);  // a leftover of an interrupted registration: unreferenced
  if (!fs::exists(dst_sidecar, ec) && fs::exists(src_sidecar, ec)) {
    write_file_atomic(dst_sidecar.string(), read_file(src_sidecar.string()));
    if (!moved_from) done += fmt::format("sidecar from {}\n", src_sidecar.string());
  }
  return done;
}

// After the registry is renamed into place: the replaced entry's files, and files of this id's own
// pattern (`<id>.<8 hex>[-N].onnx|.int8.onnx|.json`) that an interrupted registration left, unless an
// entry uses them. Best effort: a file that stays is unreferenced and harmless.
std::string remove_unreferenced(const Registry& reg, const Entry& now, const Entry* old) {
  const std::set<std::string> used = referenced_names(reg, nullptr);
  std::string done;
  std::error_code ec;
  auto drop = [&](const std::string& name) {
    if (used.count(name)) return;
    if (fs::remove(reg.dir() / name, ec)) done += fmt::format("removed {}\n", (reg.dir() / name).string());
    crash_point("register:removing");
  };
  if (old)
    for (auto& n : file_names(old->onnx)) drop(n);
  const std::string& id = now.id;
  const fs::path folder = fs::path(now.onnx).parent_path();
  auto ours = [&](std::string n) {
    bool suffixed = false;
    for (const std::string sfx : {".int8.onnx", ".onnx", ".json"}) {
      if (n.size() > sfx.size() && n.compare(n.size() - sfx.size(), sfx.size(), sfx) == 0) {
        n.resize(n.size() - sfx.size());
        suffixed = true;
        break;
      }
    }
    if (!suffixed || n.size() < id.size() + 9 || n.compare(0, id.size() + 1, id + ".") != 0) return false;
    std::string rest = n.substr(id.size() + 1);
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (auto dash = rest.find('-'); dash != std::string::npos) {
      if (dash + 1 >= rest.size() ||
          !std::all_of(rest.begin() + static_cast<long>(dash) + 1, rest.end(), digit))
        return false;
      rest.resize(dash);
    }
    return rest.size() == 8 &&
           std::all_of(rest.begin(), rest.end(), [&](char c) { return digit(c) || (c >= 'a' && c <= 'f'); });
  };
  const fs::path dir = reg.dir() / folder;
  std::vector<std::string> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (ours(it->path().filename().string()))
      found.push_back((folder / it->path().filename()).generic_string());
  for (const auto& n : found) drop(n);
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

void check_registry_target(const std::string& registry) {
  TQ_CHECK(!registry.empty(), "register: no registry file given");
  std::error_code ec;
  const fs::path p(registry);
  fs::file_status st = fs::status(p, ec);
  if (fs::exists(st)) {
    TQ_CHECK(fs::is_regular_file(st), "{}: the registry is not a regular file", registry);
    (void)load_registry(registry);  // readable and valid, or an Error naming each problem
  }
  // The first existing ancestor of the registry's folder must be a folder we may write to.
  fs::path d = p.has_parent_path() ? p.parent_path() : fs::path(".");
  for (;;) {
    st = fs::status(d, ec);
    if (fs::is_directory(st)) break;
    TQ_CHECK(!fs::exists(st), "{}: {} is not a folder, so the registry cannot be written there", registry,
             d.string());
    if (!d.has_parent_path() || d.parent_path() == d) {
      d = ".";
      break;
    }
    d = d.parent_path();
  }
  TQ_CHECK(::access(d.c_str(), W_OK | X_OK) == 0, "{}: cannot write in {}: {}", registry, d.string(),
           std::strerror(errno));
}

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
  if (int8)
    if (auto why = twin_interface_difference(fp32.bytes, int8->bytes, a.int8))
      fail("{}: registering '{}': {} (nothing written)", a.registry, a.id, *why);

  Registered out;
  out.entry = entry_for(a, existing, fp32, int8_file, mode);
  if (existing && existing->sha256 != fp32.sha256)
    out.summary += fmt::format("replacing the fp32 model of '{}' (sha256 {} → {})\n", a.id, existing->sha256,
                               fp32.sha256);
  const bool updated = existing != nullptr;
  // Pinned files that change move to a new stem, so the registry on disk pins the files it names at every
  // moment: the old ones until it is renamed, the new ones after.
  std::optional<Entry> old;
  if (existing && (existing->sha256 != out.entry.sha256 || existing->int8_sha256 != out.entry.int8_sha256)) {
    old = *existing;
    out.entry.onnx = fresh_onnx_name(reg, *existing, fp32, int8_file);
  }
  if (existing)
    *existing = out.entry;
  else
    reg.models.push_back(out.entry);

  // Everything is checked (and measured) before the first file is touched; the registry is written last,
  // the replaced files are removed after it.
  check_would_be_valid(reg, a);
  out.measurement = measurement_for(a, out.entry, fp32, int8_file);
  out.summary += place_files(reg, out.entry, fp32, int8_file, old ? &*old : nullptr);
  write_sidecar(reg, out.entry, out.measurement);
  crash_point("register:sidecar");
  save_registry(reg);
  crash_point("register:registry");
  if (updated) out.summary += remove_unreferenced(reg, out.entry, old ? &*old : nullptr);
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
