// `tinyqat data show` and `tinyqat data convert` (caches.h): looking inside the data files people have.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "data/caches.h"
#include "io/parquet.h"
#include "io/zip.h"

namespace tinyqat::data {

namespace {

bool ends_with_ci(const std::string& path, const char* s) {
  std::string low = path;
  for (char& c : low) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  const size_t n = std::strlen(s);
  return low.size() >= n && low.compare(low.size() - n, n, s) == 0;
}

std::string human_bytes(uint64_t b) {
  if (b < 10 * 1024) return fmt::format("{} B", b);
  if (b < 10 * 1024 * 1024) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{:.1f} MiB", b / 1048576.0);
}

std::string describe_parquet(const std::string& path) {
  const parquet::File f = parquet::File::open(path);
  std::string out =
      fmt::format("{}: Parquet, {} rows in {} row group(s), {} column(s), {}\n", path, f.num_rows(),
                  f.num_row_groups(), f.columns().size(), human_bytes(f.file_bytes()));
  if (!f.created_by().empty()) out += fmt::format("  written by: {}\n", f.created_by());
  size_t width = 6;
  for (const auto& c : f.columns()) width = std::max(width, c.name.size());
  out += fmt::format("  {:<{}}  {:<22} {:<20} {:<8} {:<14} {}\n", "column", width, "type", "logical", "nulls",
                     "codec", "encodings");
  for (size_t i = 0; i < f.columns().size(); ++i) {
    const auto& c = f.columns()[i];
    std::set<std::string> codecs, encodings;
    int64_t bytes = 0;
    for (int g = 0; g < f.num_row_groups(); ++g) {
      const parquet::ChunkInfo ch = f.chunk(g, static_cast<int>(i));
      codecs.insert(ch.codec);
      encodings.insert(ch.encodings.begin(), ch.encodings.end());
      bytes += ch.compressed_bytes;
    }
    std::string type = parquet::type_name(c.type);
    if (c.type == parquet::Type::FixedLenByteArray) type += fmt::format("({})", c.type_length);
    out += fmt::format("  {:<{}}  {:<22} {:<20} {:<8} {:<14} {}{}\n", c.name, width, type,
                       c.logical.empty() ? "-" : c.logical,
                       c.nested     ? "nested"
                       : c.optional ? "allowed"
                                    : "no",
                       fmt::join(codecs, ","), fmt::join(encodings, ","),
                       fmt::format("  ({})", human_bytes(static_cast<uint64_t>(bytes))));
  }
  return out;
}

std::string describe_npz(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  std::string body;
  size_t n = 0;
  zip::read_members(
      bytes.data(), bytes.size(), path, [&](const std::string& name, const uint8_t* p, size_t size) {
        const std::string key = name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
        const std::string what = fmt::format("{}: member {}", path, zip::quoted(name));
        if (npy_holds_strings(p, size)) {
          const auto s = parse_npy_strings(p, size, what);
          body += fmt::format("  {:<16} strings  [{}]{}\n", key, s.size(),
                              s.empty() ? "" : "  first: " + zip::quoted(s[0]));
        } else {
          const Tensor t = parse_npy(p, size, what);
          body += fmt::format("  {:<16} {:<8} {}\n", key, dtype_name(t.dtype()), shape_str(t.shape()));
        }
        ++n;
      });
  return fmt::format("{}: NumPy .npz, {} array(s), {}\n", path, n, human_bytes(bytes.size())) + body;
}

// A column as a .npy member: its own dtype (float64 kept), strings as unicode, nulls as NaN in floats.
std::vector<uint8_t> column_npy(const parquet::Column& c, const parquet::ColumnInfo& info,
                                const std::string& file) {
  using T = parquet::Type;
  const int64_t n = c.rows;
  auto refuse_nulls = [&](const char* dtype) {
    for (int64_t r = 0; r < n; ++r)
      TQ_CHECK(!c.is_null(r), "{}: column '{}' is null at row {}: a {} array cannot hold a null", file,
               c.name, r, dtype);
  };
  if (info.decimal_scale >= 0) {  // DECIMAL: float64, as pandas' Decimal → float
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) v[static_cast<size_t>(r)] = c.is_null(r) ? std::nan("") : c.number(r);
    return serialize_npy_raw("<f8", {n}, v.data(), v.size() * 8);
  }
  switch (c.type) {
    case T::Double: {
      std::vector<double> v = c.f64;
      for (int64_t r = 0; r < n; ++r)
        if (c.is_null(r)) v[static_cast<size_t>(r)] = std::nan("");
      return serialize_npy_raw("<f8", {n}, v.data(), v.size() * 8);
    }
    case T::Float: {
      std::vector<float> v = c.f32;
      for (int64_t r = 0; r < n; ++r)
        if (c.is_null(r)) v[static_cast<size_t>(r)] = std::nanf("");
      return serialize_npy_raw("<f4", {n}, v.data(), v.size() * 4);
    }
    case T::Int32:
      refuse_nulls("int32");
      return serialize_npy_raw("<i4", {n}, c.i32.data(), c.i32.size() * 4);
    case T::Int64:
      refuse_nulls("int64");
      return serialize_npy_raw("<i8", {n}, c.i64.data(), c.i64.size() * 8);
    case T::Boolean:
      refuse_nulls("bool");
      return serialize_npy_raw("|b1", {n}, c.b.data(), c.b.size());
    case T::ByteArray:
      TQ_CHECK(info.is_string(), "{}: column '{}' is binary, not text (select other columns with --columns)",
               file, c.name);
      refuse_nulls("string");
      try {
        return serialize_npy_strings(c.bytes);
      } catch (const Error& e) {
        fail("{}: column '{}': {}", file, c.name, e.what());
      }
    default:
      fail("{}: column '{}' has type {}, which has no NumPy form here (select other columns with --columns)",
           file, c.name, parquet::type_name(c.type));
  }
}

}  // namespace

std::string describe_data_file(const std::string& path) {
  TQ_CHECK(std::filesystem::is_regular_file(path), "{}: no such file", path);
  if (parquet::is_parquet_path(path)) return describe_parquet(path);
  if (ends_with_ci(path, ".npz")) return describe_npz(path);
  if (ends_with_ci(path, ".npy")) {
    const std::vector<uint8_t> b = read_file(path);
    if (npy_holds_strings(b.data(), b.size()))
      return fmt::format("{}: NumPy .npy, strings [{}]\n", path,
                         parse_npy_strings(b.data(), b.size(), path).size());
    const Tensor t = parse_npy(b.data(), b.size(), path);
    return fmt::format("{}: NumPy .npy, {} {}\n", path, dtype_name(t.dtype()), shape_str(t.shape()));
  }
  if (ends_with_ci(path, ".csv")) {
    const NamedTensors t = features_from_csv(path);
    return fmt::format("{}: feature CSV, {} rows: features {} float32, vmaf {} float32\n", path,
                       t[1].second.dim(0), shape_str(t[0].second.shape()), shape_str(t[1].second.shape()));
  }
  fail("{}: not a data file tinyqat reads (.parquet, .pq, .npz, .npy, .csv)", path);
}

std::vector<std::string> convert_to_npz(const std::string& in, const std::string& out,
                                        const std::string& layout, const std::vector<std::string>& columns) {
  TQ_CHECK(ends_with_ci(out, ".npz"), "-o '{}': expected a .npz file name", out);
  TQ_CHECK(layout == "columns" || layout == "feature-cache", "--layout '{}' is not columns or feature-cache",
           layout);
  TQ_CHECK(std::filesystem::is_regular_file(in), "{}: no such file", in);
  TQ_CHECK(parquet::is_parquet_path(in), "{}: convert reads .parquet / .pq files", in);
  zip::Writer w(/*compress=*/true);
  std::vector<std::string> lines;
  if (layout == "feature-cache") {
    TQ_CHECK(columns.empty(), "--columns goes with --layout columns (a feature cache has fixed arrays)");
    const Cache c = load_cache(in);
    TQ_CHECK(c.kind == "features", "{}: a {} cache, not a feature cache", in, c.kind);
    for (const auto& [name, t] : NamedTensors{{"features", c.input}, {"scores", c.target}}) {
      const std::vector<uint8_t> b = serialize_npy(t);
      w.add(name + ".npy", b.data(), b.size());
      lines.push_back(fmt::format("{} float32 {}", name, shape_str(t.shape())));
    }
    if (!c.keys.empty()) {
      const std::vector<uint8_t> b = serialize_npy_strings(c.keys);
      w.add("key.npy", b.data(), b.size());
      lines.push_back(fmt::format("key strings [{}]", c.keys.size()));
    }
    lines.push_back(fmt::format("features = columns {}", fmt::join(c.columns, ", ")));
  } else {
    const parquet::File f = parquet::File::open(in);
    std::vector<int> picked;
    for (const auto& name : columns) {
      const int k = f.column_index(name);
      TQ_CHECK(k >= 0, "--columns: {} has no column '{}'", in, name);
      picked.push_back(k);
    }
    if (columns.empty())
      for (int k = 0; k < static_cast<int>(f.columns().size()); ++k) picked.push_back(k);
    for (int k : picked) {
      const auto& info = f.columns()[static_cast<size_t>(k)];
      const std::vector<uint8_t> b = column_npy(f.read_column(k), info, in);
      w.add(info.name + ".npy", b.data(), b.size());
      lines.push_back(fmt::format("{} ({}{}) [{}]", info.name, parquet::type_name(info.type),
                                  info.logical.empty() ? "" : " " + info.logical, f.num_rows()));
    }
  }
  std::filesystem::path parent = std::filesystem::path(out).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  write_file_atomic(out, w.finish());
  return lines;
}

}  // namespace tinyqat::data
