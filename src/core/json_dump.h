// JSON text of values whose strings may hold bytes from untrusted files. ONNX names and metadata are
// proto2 strings (never checked for UTF-8), and a message may shorten a value: nlohmann's dump throws
// on a string that is not UTF-8, so every report is written through json_dump, which writes invalid
// bytes as U+FFFD, and shortened text is cut with utf8_prefix.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tinyqat {

template <typename Json>
std::string json_dump(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// The longest prefix of `s` of at most `n` bytes that does not end inside a UTF-8 sequence (bytes
// that are not UTF-8 are cut at `n`).
inline std::string_view utf8_prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  size_t k = n;
  auto continuation = [&](size_t i) { return (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80; };
  while (k > 0 && n - k < 3 && continuation(k)) --k;
  return s.substr(0, continuation(k) ? n : k);
}

}  // namespace tinyqat
