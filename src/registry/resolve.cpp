#include "registry/resolve.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_dump.h"
#include "core/sha256.h"

namespace tinyqat::registry {

const char* name(Variant v) {
  return v == Variant::Int8 ? "int8" : "fp32";
}

const char* name(Reason r) {
  switch (r) {
    case Reason::Fp32Entry:
      return "fp32-entry";
    case Reason::Fp32Preferred:
      return "fp32-preferred";
    case Reason::Int8WithinBudget:
      return "int8-within-budget";
    case Reason::Int8Unmeasured:
      return "int8-unmeasured";
    case Reason::Int8Missing:
      return "int8-missing";
    case Reason::Int8DigestMismatch:
      return "int8-digest-mismatch";
    case Reason::Int8OverBudget:
      return "int8-over-budget";
    case Reason::Int8Unloadable:
      return "int8-unloadable";
    case Reason::MeasurementUnreadable:
      return "measurement-unreadable";
    case Reason::Int8InterfaceMismatch:
      return "int8-interface-mismatch";
    case Reason::Int8SlowerOnThisCpu:
      return "int8-slower-on-this-cpu";
  }
  return "?";
}

bool is_fallback(Reason r) {
  return r == Reason::Int8Missing || r == Reason::Int8DigestMismatch || r == Reason::Int8OverBudget ||
         r == Reason::Int8Unloadable || r == Reason::MeasurementUnreadable ||
         r == Reason::Int8InterfaceMismatch || r == Reason::Int8SlowerOnThisCpu;
}

Resolved resolve(const Registry& r, const std::string& id, bool prefer_fp32) {
  const Entry& e = r.at(id);
  Resolved res;
  Decision& d = res.decision;
  d.id = e.id;
  d.quant_mode = e.mode();
  d.budget = e.budget();
  d.budget_recorded = e.quant_accuracy_budget_plcc.has_value();

  // The fp32 file is the regression baseline and the fallback: it must be there and match, always.
  const std::string fp32 = r.onnx_path(e).string();
  PinnedFile fp32_file = read_pinned(fp32, e.sha256, "the registry");
  TQ_CHECK(fp32_file.ok(), "{}: model '{}': refusing to load: fp32 file {}", r.path, e.id, fp32_file.problem);
  auto choose_fp32 = [&](Reason why, std::string text) {
    d.variant = Variant::Fp32;
    d.reason = why;
    d.text = std::move(text);
    d.model_path = fp32;
    d.sha256 = fp32_file.sha256;
    res.bytes = std::move(fp32_file.bytes);
    return std::move(res);
  };
  if (!e.quantized()) return choose_fp32(Reason::Fp32Entry, "quant_mode is fp32: running the fp32 model");
  if (prefer_fp32)
    return choose_fp32(Reason::Fp32Preferred,
                       fmt::format("fp32 requested by the caller (the entry has {} int8)", e.mode()));

  const std::string int8 = r.int8_path(e).string();
  PinnedFile int8_file = read_pinned(int8, *e.int8_sha256, "the registry");
  if (!int8_file.ok())
    return choose_fp32(
        int8_file.status == PinnedFile::Status::Mismatch ? Reason::Int8DigestMismatch : Reason::Int8Missing,
        fmt::format("falling back to fp32: int8 file {}", int8_file.problem));
  if (auto why = twin_interface_difference(fp32_file.bytes, int8_file.bytes, int8))
    return choose_fp32(Reason::Int8InterfaceMismatch, fmt::format("falling back to fp32: {}", *why));
  const std::string& got8 = int8_file.sha256;
  std::optional<Measurement> m;
  try {
    m = read_measurement(r, e);
  } catch (const Error& err) {
    return choose_fp32(Reason::MeasurementUnreadable, fmt::format("falling back to fp32: {}", err.what()));
  }
  if (m && m->int8_sha256 == got8) {
    d.recorded_drop = m->drop_plcc;
    if (!(m->drop_plcc <= d.budget))
      return choose_fp32(
          Reason::Int8OverBudget,
          fmt::format("falling back to fp32: recorded PLCC drop {:.6g} is over the budget {:.6g}",
                      m->drop_plcc, d.budget));
  }
  d.variant = Variant::Int8;
  d.model_path = int8;
  d.sha256 = got8;
  res.fp32_bytes = std::move(fp32_file.bytes);
  if (d.recorded_drop) {
    d.reason = Reason::Int8WithinBudget;
    d.text =
        fmt::format("running {} int8: sha256 verified, recorded PLCC drop {:.6g} within the budget {:.6g}",
                    e.mode(), *d.recorded_drop, d.budget);
  } else {
    d.reason = Reason::Int8Unmeasured;
    d.text = fmt::format("running {} int8: sha256 verified, no drop recorded for this file (budget {:.6g})",
                         e.mode(), d.budget);
  }
  res.bytes = std::move(int8_file.bytes);
  return res;
}

std::string decision_text(const Decision& d) {
  std::string s;
  s += fmt::format("id={}\n", d.id);
  s += fmt::format("variant={}\n", name(d.variant));
  s += fmt::format("reason={}\n", name(d.reason));
  s += fmt::format("fallback={}\n", is_fallback(d.reason) ? "yes" : "no");
  s += fmt::format("path={}\n", d.model_path);
  s += fmt::format("sha256={}\n", d.sha256);
  s += fmt::format("quant_mode={}\n", d.quant_mode);
  s += fmt::format("budget_plcc={}{}\n", d.budget, d.budget_recorded ? "" : " (default)");
  s += fmt::format("recorded_drop_plcc={}\n", d.recorded_drop ? fmt::format("{}", *d.recorded_drop) : "none");
  s += fmt::format("text={}\n", d.text);
  return s;
}

std::string decision_json(const Decision& d) {
  nlohmann::ordered_json j;
  j["id"] = d.id;
  j["variant"] = name(d.variant);
  j["reason"] = name(d.reason);
  j["fallback"] = is_fallback(d.reason);
  j["path"] = d.model_path;
  j["sha256"] = d.sha256;
  j["quant_mode"] = d.quant_mode;
  j["budget_plcc"] = d.budget;
  j["budget_recorded"] = d.budget_recorded;
  j["recorded_drop_plcc"] =
      d.recorded_drop ? nlohmann::ordered_json(*d.recorded_drop) : nlohmann::ordered_json();
  j["text"] = d.text;
  return json_dump(j, 2);
}

}  // namespace tinyqat::registry
