#include "ir/interface.h"

#include <fmt/format.h>

namespace tinyqat {

Interface interface_of(const Graph& g) {
  return Interface{g.inputs, g.outputs};
}

namespace {

bool same_dim(const Dim& a, const Dim& b) {
  if (a.is_known() || b.is_known()) return a.value == b.value;
  return a.param == b.param;  // the same symbol, or both free
}

std::optional<std::string> values_differ(const std::vector<ValueInfo>& want,
                                         const std::vector<ValueInfo>& got, const char* what) {
  if (want.size() != got.size()) return fmt::format("{} {}s instead of {}", got.size(), what, want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const ValueInfo& w = want[i];
    const ValueInfo& g = got[i];
    if (w.name != g.name) return fmt::format("{} {} is '{}' instead of '{}'", what, i, g.name, w.name);
    if (w.dtype != g.dtype)
      return fmt::format("{} '{}' is {} instead of {}", what, w.name, dtype_name(g.dtype),
                         dtype_name(w.dtype));
    if (!w.has_shape || !g.has_shape) continue;
    bool same = w.shape.size() == g.shape.size();
    for (size_t d = 0; same && d < w.shape.size(); ++d) same = same_dim(w.shape[d], g.shape[d]);
    if (!same)
      return fmt::format("{} '{}' has shape {} instead of {}", what, w.name, g.shape_str(), w.shape_str());
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> interface_difference(const Interface& want, const Interface& other) {
  if (auto why = values_differ(want.inputs, other.inputs, "input")) return why;
  return values_differ(want.outputs, other.outputs, "output");
}

}  // namespace tinyqat
