#include "registry/schema_errors.h"

#include <algorithm>
#include <set>
#include <string>

#include <fmt/format.h>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "core/json_dump.h"

namespace tinyqat::registry {

using json = nlohmann::json;

namespace {

const json& schema_json() {
  static const json s = json::parse(schema_text());
  return s;
}

const valijson::Schema& compiled_schema() {
  static const valijson::Schema* s = [] {
    auto* schema = new valijson::Schema;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema_json());
    parser.populateSchema(adapter, *schema);
    return schema;
  }();
  return *s;
}

// A value as it appears in a message, at most 80 characters. Never recurses: a container shows its
// scalar members and "[...]" / "{...}" for nested ones, and stops once the text is long enough.
std::string shown_scalar(const json& v) {
  if (v.is_string()) {
    const auto& str = v.get_ref<const std::string&>();
    if (str.size() <= 78) return json_dump(json(str));
    return json_dump(json(std::string(utf8_prefix(str, 75)))) + "...";
  }
  if (v.is_array()) return "[...]";
  if (v.is_object()) return "{...}";
  return json_dump(v);
}
std::string shown(const json& v) {
  std::string s;
  if (v.is_array() || v.is_object()) {
    s = v.is_array() ? "[" : "{";
    bool first = true;
    for (auto it = v.begin(); it != v.end() && s.size() <= 80; ++it, first = false) {
      if (!first) s += ",";
      if (v.is_object()) s += shown_scalar(json(it.key())) + ":";
      s += shown_scalar(it.value());
    }
    s += v.is_array() ? "]" : "}";
  } else {
    s = shown_scalar(v);
  }
  if (s.size() > 80) s = std::string(utf8_prefix(s, 77)) + "...";
  return s;
}

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a value";
  }
}

// valijson's context ["<root>", "[models]", "[0]", "[id]"] → "models[0].id", plus the JSON value and the
// schema node there.
struct Located {
  std::string where;
  const json* value = nullptr;
  const json* schema = nullptr;
};

Located locate(const std::vector<std::string>& ctx, const json& doc) {
  Located l;
  const json* v = &doc;
  const json* s = &schema_json();
  for (const auto& c : ctx) {
    if (c == "<root>" || c.size() < 2 || c.front() != '[' || c.back() != ']') continue;
    std::string key = c.substr(1, c.size() - 2);
    bool index = !key.empty() &&
                 std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) && v &&
                 v->is_array();
    if (index) {
      l.where += "[" + key + "]";
      size_t i = std::stoul(key);
      v = (v && i < v->size()) ? &(*v)[i] : nullptr;
      s = (s && s->contains("items")) ? &(*s)["items"] : nullptr;
      if (s && s->contains("$ref")) s = &schema_json()["$defs"]["model_entry"];
    } else {
      l.where += (l.where.empty() ? "" : ".") + key;
      v = (v && v->is_object() && v->contains(key)) ? &(*v)[key] : nullptr;
      s = (s && s->contains("properties") && (*s)["properties"].contains(key)) ? &(*s)["properties"][key]
                                                                               : nullptr;
    }
  }
  l.value = v;
  l.schema = s;
  return l;
}

std::string join_enum(const json& e) {
  std::string r;
  for (const auto& x : e)
    r += (r.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : json_dump(x));
  return r;
}

// A readable message for one valijson leaf error.
Violation explain(const valijson::ValidationResults::Error& err, const json& doc) {
  Located l = locate(err.context, doc);
  const std::string& d = err.description;
  const json* v = l.value;
  const json* s = l.schema;
  Violation out{l.where, d};
  if (d.find("could not be validated using 'properties' or 'additionalProperties'") != std::string::npos) {
    auto q = d.rfind(": '");
    std::string field = q == std::string::npos ? "?" : d.substr(q + 3, d.size() - q - 5);
    out.where = l.where.empty() ? field : l.where + "." + field;
    out.message = "unknown field (the schema allows no fields but its own)";
  } else if (d.find("Missing required property") != std::string::npos) {
    auto q = d.find('\'');
    auto q2 = d.rfind('\'');
    std::string field = (q != std::string::npos && q2 > q) ? d.substr(q + 1, q2 - q - 1) : "?";
    out.where = l.where.empty() ? field : l.where + "." + field;
    out.message = "required field is missing";
  } else if (v && s && d.find("regex") != std::string::npos && s->contains("pattern")) {
    std::string pat = (*s)["pattern"].get<std::string>();
    out.message = fmt::format("{} does not match the pattern {}", shown(*v), pat);
    if (pat == "^[0-9a-f]{64}$" && v->is_string())
      out.message = fmt::format("{} is not a sha256 digest: {} characters, need 64 lowercase hex digits",
                                shown(*v), v->get<std::string>().size());
    else if (l.where.size() > 5 && l.where.substr(l.where.size() - 5) == ".onnx")
      out.message += " (a lowercase path inside the registry folder ending in .onnx)";
  } else if (v && s && d.find("enum") != std::string::npos && s->contains("enum")) {
    out.message = fmt::format("{} is not one of: {}", shown(*v), join_enum((*s)["enum"]));
  } else if (v && s && d.find("'type' constraint") != std::string::npos && s->contains("type")) {
    out.message = fmt::format(
        "expected {}, got {} {}",
        (*s)["type"].get<std::string>() == "integer" ? "an integer" : "a " + (*s)["type"].get<std::string>(),
        type_name(*v), shown(*v));
  } else if (v && s && (s->contains("minimum") || s->contains("maximum")) &&
             (d.find("less than") != std::string::npos || d.find("greater than") != std::string::npos)) {
    out.message = fmt::format("{} is outside [{}, {}]", shown(*v),
                              s->contains("minimum") ? json_dump((*s)["minimum"]) : "-inf",
                              s->contains("maximum") ? json_dump((*s)["maximum"]) : "inf");
  } else if (v && s && s->contains("maxLength") && d.find("characters") != std::string::npos) {
    out.message =
        fmt::format("{} characters, at most {} allowed", v->is_string() ? v->get<std::string>().size() : 0,
                    (*s)["maxLength"].get<int>());
  } else if (v) {
    out.message = fmt::format("{}: {}", shown(*v), d);
  }
  return out;
}

bool is_wrapper(const std::string& d) {
  return d.rfind("Failed to validate against schema associated with property name", 0) == 0 ||
         d.rfind("Failed to validate item #", 0) == 0 || d.rfind("Failed to validate against", 0) == 0;
}

}  // namespace

std::vector<Violation> schema_violations(const json& doc) {
  std::vector<Violation> out;
  // valijson checks `pattern` with std::regex, whose matcher recurses per character: a string of some
  // 10^5 characters overflows the stack. Longer strings than any the schema allows are reported here and
  // shortened in the copy that is validated; the schema's messages about them are left out.
  json checked = doc;
  std::set<std::string> overlong;
  std::vector<std::pair<json*, std::string>> todo{{&checked, ""}};
  while (!todo.empty()) {
    auto [v, path] = std::move(todo.back());
    todo.pop_back();
    if (v->is_string()) {
      auto& s = v->get_ref<std::string&>();
      if (s.size() <= kMaxSchemaString) continue;
      out.push_back({path, fmt::format("a string of {} bytes (no field of the schema may hold more than {})",
                                       s.size(), kMaxSchemaString)});
      overlong.insert(path);
      s = std::string(utf8_prefix(s, kMaxSchemaString));
    } else if (v->is_array()) {
      for (size_t i = v->size(); i-- > 0;) todo.emplace_back(&(*v)[i], fmt::format("{}[{}]", path, i));
    } else if (v->is_object()) {  // children pushed last to first: reported in document order
      const size_t first = todo.size();
      for (auto& [k, m] : v->items()) todo.emplace_back(&m, path.empty() ? k : path + "." + k);
      std::reverse(todo.begin() + static_cast<ptrdiff_t>(first), todo.end());
    }
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(checked);
  if (validator.validate(compiled_schema(), adapter, &results)) return out;
  valijson::ValidationResults::Error err;
  while (results.popError(err)) {
    if (is_wrapper(err.description)) continue;
    Violation v = explain(err, checked);
    if (!overlong.count(v.where)) out.push_back(std::move(v));
  }
  if (out.empty()) out.push_back({"", "does not satisfy the registry schema"});
  return out;
}

}  // namespace tinyqat::registry
