// Parsing JSON that comes from a file (a registry, a sidecar): untrusted text. nlohmann's parser is
// iterative, but everything that walks a parsed value afterwards (dump, comparison, the schema validator)
// recurses, so nesting is limited while parsing; and duplicate keys, which nlohmann silently resolves to
// the last one, are refused (two `sha256` fields in one entry must not let the reader pick one).
#pragma once
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"

namespace tinyqat::registry {

// Deepest nesting of arrays and objects accepted (a registry needs 3, a sidecar a handful).
inline constexpr int kMaxJsonDepth = 64;

// A document refused by parse_json_text. `where` is the JSON path of the offending value ("" for the
// document), `what()` says what is wrong without the path: "not JSON: ...", "duplicate key ...".
struct JsonTextError : std::runtime_error {
  std::string where;
  JsonTextError(std::string w, const std::string& msg) : std::runtime_error(msg), where(std::move(w)) {}
  std::string located() const { return where.empty() ? what() : where + ": " + what(); }
};

// Parses `text` as JSON (nlohmann::json or nlohmann::ordered_json): JsonTextError when it is not JSON
// (with line and column), nests deeper than kMaxJsonDepth, or repeats a key within one object.
template <typename Json>
Json parse_json_text(std::string_view text) {
  struct Frame {
    bool array = false;
    size_t count = 0;  // elements finished (arrays)
    std::string key;   // current key (objects)
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  auto path = [&] {  // "models[0].notes", the first 8 levels
    std::string p;
    for (size_t i = 0; i < frames.size() && i < 8; ++i) {
      const Frame& f = frames[i];
      p += f.array ? fmt::format("[{}]", f.count)
                   : (p.empty() ? "" : ".") +
                         (f.key.size() > 64 ? std::string(utf8_prefix(f.key, 64)) + "..." : f.key);
    }
    return frames.size() > 8 ? p + "..." : p;
  };
  auto element_done = [&] {
    if (!frames.empty() && frames.back().array) ++frames.back().count;
  };
  using Event = nlohmann::detail::parse_event_t;
  auto cb = [&](int /*depth*/, Event ev, Json& parsed) -> bool {
    switch (ev) {
      case Event::object_start:
      case Event::array_start:
        if (frames.size() >= static_cast<size_t>(kMaxJsonDepth))
          throw JsonTextError(path(), fmt::format("nested deeper than {} levels", kMaxJsonDepth));
        frames.push_back(Frame{ev == Event::array_start, 0, {}, {}});
        break;
      case Event::key: {
        Frame& f = frames.back();
        f.key = parsed.template get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw JsonTextError(
              path(), fmt::format("duplicate key '{}' (each key may appear once per object)",
                                  f.key.size() > 64 ? std::string(utf8_prefix(f.key, 64)) + "..." : f.key));
        break;
      }
      case Event::object_end:
      case Event::array_end:
        frames.pop_back();
        element_done();
        break;
      case Event::value:
        element_done();
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), cb);
  } catch (const typename Json::exception& e) {  // parse errors, and numbers out of range
    std::string w = e.what();
    auto p = w.find("] ");
    throw JsonTextError("", "not JSON: " + (p == std::string::npos ? w : w.substr(p + 2)));
  }
}

}  // namespace tinyqat::registry
