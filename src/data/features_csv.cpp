// VMAF feature CSV → arrays "features" [N,6] and "vmaf" [N] (format in corpus.h and docs/data.md).
#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

#include "core/error.h"
#include "core/file_util.h"
#include "data/corpus.h"

namespace tinyqat::data {

namespace {

constexpr std::array<const char*, 6> kFeatureNames = {"adm2",       "vif_scale0", "vif_scale1",
                                                      "vif_scale2", "vif_scale3", "motion2"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    out.push_back(
        trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Locale-independent, correctly rounded (std::from_chars); the whole field must be one finite number.
float parse_number(std::string_view field, const std::string& path, size_t line, size_t column,
                   const std::string& name) {
  float v = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, v);
  if (field.empty() || ec != std::errc() || ptr != end || !std::isfinite(v))
    fail("{}:{}: column {} ({}): '{}' is not a finite number", path, line, column, name,
         std::string(field.substr(0, 40)));
  return v;
}

}  // namespace

NamedTensors features_from_csv(const std::string& path, const std::string& input_name) {
  TQ_CHECK(!input_name.empty() && input_name != "vmaf", "--input-name '{}' is empty or clashes with 'vmaf'",
           input_name);
  const std::vector<uint8_t> bytes = read_file(path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark
  if (text.find('\0') != std::string_view::npos) fail("{}: not a text file (NUL byte)", path);

  std::vector<float> feats, vmaf;
  size_t columns = 0, line_no = 0, pos = 0;
  bool header_seen = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    std::vector<std::string_view> f = split_fields(line);
    if (!header_seen) {
      header_seen = true;
      columns = f.size();
      if (columns < 7)
        fail("{}:{}: header has {} column(s); expected adm2,vif_scale0..3,motion2,...,vmaf", path, line_no,
             columns);
      for (size_t c = 0; c < kFeatureNames.size(); ++c)
        if (lower(f[c]) != kFeatureNames[c])
          fail("{}:{}: header column {} is '{}', expected '{}'", path, line_no, c + 1, std::string(f[c]),
               kFeatureNames[c]);
      if (lower(f.back()) != "vmaf")
        fail("{}:{}: last header column is '{}', expected 'vmaf'", path, line_no, std::string(f.back()));
      continue;
    }
    if (f.size() != columns) fail("{}:{}: {} field(s), the header has {}", path, line_no, f.size(), columns);
    for (size_t c = 0; c < kFeatureNames.size(); ++c)
      feats.push_back(parse_number(f[c], path, line_no, c + 1, kFeatureNames[c]));
    vmaf.push_back(parse_number(f.back(), path, line_no, columns, "vmaf"));
  }
  if (!header_seen) fail("{}: empty file (expected a header row and data rows)", path);
  if (vmaf.empty()) fail("{}: no data rows after the header", path);
  const int64_t n = static_cast<int64_t>(vmaf.size());
  return {{input_name, Tensor::from_f32({n, 6}, feats)}, {"vmaf", Tensor::from_f32({n}, vmaf)}};
}

}  // namespace tinyqat::data
