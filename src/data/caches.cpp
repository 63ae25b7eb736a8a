// The fork's feature and frame caches (caches.h).
#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "data/caches.h"
#include "io/parquet.h"

namespace tinyqat::data {

namespace {

bool has_suffix(const std::string& path, const char* s) {
  std::string low = std::filesystem::path(path).extension().string();
  for (char& c : low) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return low == s;
}

// Any tensor as float32 (a copy).
Tensor as_f32(const Tensor& t) {
  Tensor f = Tensor::empty(DType::F32, t.shape());
  float* o = f.data<float>();
  if (t.dtype() == DType::U8) {
    for (int64_t i = 0; i < t.numel(); ++i) o[i] = t.data<uint8_t>()[i];
  } else if (t.dtype() == DType::F32) {
    std::copy(t.data<float>(), t.data<float>() + t.numel(), o);
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) o[i] = static_cast<float>(t.scalar_as_double(i));
  }
  return f;
}

// Python's repr of a float (and numpy's str of a float32): the shortest digits that round-trip,
// positional when 1e-4 <= |x| < 1e16 (with ".0" for integers), scientific otherwise ("1e-05", "1.5e+16").
template <class F>
std::string python_float(F v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // "-1.2345e-05"
  const size_t e = sci.find('e');
  const bool neg = sci[0] == '-';
  std::string digits;
  for (size_t i = neg ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exp = std::stoi(sci.substr(e + 1));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
    } else {
      out +=
          digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  return out + fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
}

// The key of each row as the fork's `df["key"].astype(str)` spells it.
std::vector<std::string> key_strings(const parquet::Column& c, const parquet::ColumnInfo& info,
                                     const std::string& file) {
  TQ_CHECK(c.null_count() == 0, "{}: column 'key' has a null (row {}); every row needs a key", file, [&] {
    for (int64_t r = 0; r < c.rows; ++r)
      if (c.is_null(r)) return r;
    return int64_t(-1);
  }());
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(c.rows));
  for (int64_t r = 0; r < c.rows; ++r) {
    const auto i = static_cast<size_t>(r);
    switch (c.type) {
      case parquet::Type::ByteArray:
      case parquet::Type::FixedLenByteArray:
        TQ_CHECK(info.is_string(), "{}: column 'key' holds binary values, not text (pandas would read bytes)",
                 file);
        out.push_back(c.bytes[i]);
        break;
      case parquet::Type::Int32:
        out.push_back(std::to_string(c.i32[i]));
        break;
      case parquet::Type::Int64:
        out.push_back(std::to_string(c.i64[i]));
        break;
      case parquet::Type::Boolean:
        out.push_back(c.b[i] ? "True" : "False");
        break;
      case parquet::Type::Float:
        out.push_back(python_float(c.f32[i]));
        break;
      case parquet::Type::Double:
        out.push_back(python_float(c.f64[i]));
        break;
      default:
        fail("{}: column 'key' has type {}, which has no text form here", file, parquet::type_name(c.type));
    }
  }
  return out;
}

// A numeric column as float32 (numpy float64 → torch float32, as the fork converts); nulls refused.
void numbers_into(const parquet::Column& c, const std::string& file, const std::string& why, float* dst,
                  int64_t stride) {
  for (int64_t r = 0; r < c.rows; ++r) {
    TQ_CHECK(!c.is_null(r), "{}: column '{}' is null at row {} ({})", file, c.name, r, why);
    dst[r * stride] = static_cast<float>(c.number(r));
  }
}

void check_numeric(const parquet::ColumnInfo& info, const std::string& file) {
  using T = parquet::Type;
  TQ_CHECK(info.type == T::Boolean || info.type == T::Int32 || info.type == T::Int64 ||
               info.type == T::Float || info.type == T::Double || info.decimal_scale >= 0,
           "{}: column '{}' holds {} values, not numbers", file, info.name, parquet::type_name(info.type));
}

std::vector<std::string> column_names(const parquet::File& f) {
  std::vector<std::string> n;
  for (const auto& c : f.columns()) n.push_back(c.name);
  return n;
}

Cache feature_cache_parquet(const parquet::File& f, const std::string& path) {
  Cache c;
  c.path = path;
  c.kind = "features";
  c.input_name = "features";
  c.target_name = "mos";
  std::vector<int> cols;
  for (const char* name : kFeatureColumns)
    if (f.column_index(name) >= 0) {
      cols.push_back(f.column_index(name));
      c.columns.push_back(name);
    }
  const int mos = f.column_index("mos");
  TQ_CHECK(mos >= 0, "{}: no 'mos' column (a feature cache holds the feature columns and 'mos'); columns: {}",
           path, fmt::join(column_names(f), ", "));
  const int64_t n = f.num_rows();
  const auto nf = static_cast<int64_t>(cols.size());
  c.input = Tensor::empty(DType::F32, {n, nf});
  c.target = Tensor::empty(DType::F32, {n});
  for (int64_t j = 0; j < nf; ++j) {
    check_numeric(f.columns()[static_cast<size_t>(cols[static_cast<size_t>(j)])], path);
    numbers_into(f.read_column(cols[static_cast<size_t>(j)]), path, "a feature cannot be missing",
                 c.input.data<float>() + j, nf);
  }
  check_numeric(f.columns()[static_cast<size_t>(mos)], path);
  numbers_into(f.read_column(mos), path, "every row needs its score", c.target.data<float>(), 1);
  if (const int k = f.column_index("key"); k >= 0)
    c.keys = key_strings(f.read_column(k), f.columns()[static_cast<size_t>(k)], path);
  return c;
}

Cache feature_cache_npz(const std::string& path) {
  NamedStrings strings;
  const NamedTensors arrays = read_npz_with_strings(path, &strings);
  auto find = [&](const char* name) -> const Tensor* {
    for (const auto& [n, t] : arrays)
      if (n == name) return &t;
    return nullptr;
  };
  auto names = [&] {
    std::vector<std::string> n;
    for (const auto& [k, t] : arrays) n.push_back(k);
    for (const auto& [k, s] : strings) n.push_back(k);
    return fmt::format("{}", fmt::join(n, ", "));
  };
  const Tensor* x = find("features");
  const Tensor* y = find("scores");
  TQ_CHECK(x && y,
           "{}: a feature cache .npz holds arrays 'features' [N,F] and 'scores' [N]; this one has: {}", path,
           names());
  TQ_CHECK(x->rank() == 2, "{}: array 'features' has shape {}, not [N, F]", path, shape_str(x->shape()));
  TQ_CHECK(y->numel() == x->dim(0) && (y->rank() == 1 || (y->rank() == 2 && y->dim(1) == 1)),
           "{}: array 'scores' has shape {}, not [{}] (one per row of 'features')", path,
           shape_str(y->shape()), x->dim(0));
  Cache c;
  c.path = path;
  c.kind = "features";
  c.input_name = "features";
  c.target_name = "scores";
  c.input = as_f32(*x);
  c.target = as_f32(*y).reshaped({x->dim(0)});
  for (const auto& [k, s] : strings)
    if (k == "key") {
      TQ_CHECK(static_cast<int64_t>(s.size()) == x->dim(0), "{}: array 'key' holds {} keys for {} rows", path,
               s.size(), x->dim(0));
      c.keys = s;
    }
  if (const Tensor* k = find("key")) {  // numeric keys: their decimal text, as str() of an int
    TQ_CHECK(
        k->rank() == 1 && k->dim(0) == x->dim(0) && (k->dtype() == DType::I32 || k->dtype() == DType::I64),
        "{}: array 'key' must hold one integer or string per row", path);
    for (int64_t i = 0; i < k->dim(0); ++i)
      c.keys.push_back(
          std::to_string(k->dtype() == DType::I32 ? k->data<int32_t>()[i] : k->data<int64_t>()[i]));
  }
  return c;
}

// One frame, H×W float32 in [0, 1]-ish: .npy as the fork loads it (astype(float32) / 255), images as luma.
Tensor load_frame(const std::string& path, const std::string& cache, const std::string& column, int64_t row) {
  TQ_CHECK(std::filesystem::is_regular_file(path), "{}: column '{}', row {}: no such frame file '{}'", cache,
           column, row, path);
  if (has_suffix(path, ".npy")) {
    Tensor t = read_npy(path);
    TQ_CHECK(t.rank() == 2, "{}: a frame must be a 2-D (H×W) array, it has shape {}", path,
             shape_str(t.shape()));
    Tensor f = as_f32(t);
    for (int64_t i = 0; i < f.numel(); ++i) f.data<float>()[i] /= 255.f;
    return f;
  }
  const Luma8 img = load_luma(path);
  Tensor f = Tensor::empty(DType::F32, {img.height, img.width});
  to_unit(img, f.data<float>());
  return f;
}

Cache frame_cache(const parquet::File& f, const std::string& path, bool pairs, const Progress& progress) {
  Cache c;
  c.path = path;
  c.kind = pairs ? "pairs" : "frames";
  const char* in_col = pairs ? "deg_path" : "frame_path";
  const char* out_col = pairs ? "clean_path" : "mos";
  c.input_name = in_col;
  c.target_name = out_col;
  auto strings = [&](const char* name) {
    const int k = f.column_index(name);
    const parquet::Column col = f.read_column(k);
    TQ_CHECK(col.type == parquet::Type::ByteArray, "{}: column '{}' must hold paths (strings), it holds {}",
             path, name, parquet::type_name(col.type));
    for (int64_t r = 0; r < col.rows; ++r)
      TQ_CHECK(!col.is_null(r), "{}: column '{}' is null at row {} (every row needs a frame)", path, name, r);
    return col.bytes;
  };
  const std::vector<std::string> inputs = strings(in_col);
  const auto n = static_cast<int64_t>(inputs.size());
  TQ_CHECK(n > 0, "{}: the cache holds no rows", path);
  std::vector<std::string> targets;
  if (pairs) {
    targets = strings(out_col);
  } else {
    const int mos = f.column_index("mos");
    check_numeric(f.columns()[static_cast<size_t>(mos)], path);
    c.target = Tensor::empty(DType::F32, {n});
    numbers_into(f.read_column(mos), path, "every frame needs its score", c.target.data<float>(), 1);
  }
  int64_t h = 0, w = 0;
  for (int64_t r = 0; r < n; ++r) {
    for (int side = 0; side < (pairs ? 2 : 1); ++side) {
      const std::string& p = side ? targets[static_cast<size_t>(r)] : inputs[static_cast<size_t>(r)];
      const Tensor fr = load_frame(p, path, side ? out_col : in_col, r);
      if (r == 0 && side == 0) {
        h = fr.dim(0), w = fr.dim(1);
        c.input = Tensor::empty(DType::F32, {n, 1, h, w});
        if (pairs) c.target = Tensor::empty(DType::F32, {n, 1, h, w});
      }
      TQ_CHECK(fr.dim(0) == h && fr.dim(1) == w,
               "{}: frame '{}' (row {}) is {}×{}, the first frame is {}×{}: a batch needs one size", path, p,
               r, fr.dim(0), fr.dim(1), h, w);
      float* dst = (side ? c.target : c.input).data<float>() + r * h * w;
      std::copy(fr.data<float>(), fr.data<float>() + h * w, dst);
    }
    if (progress && ((r + 1) % 500 == 0 || r + 1 == n))
      progress(fmt::format("{}: {}/{} frames loaded", path, r + 1, n));
  }
  if (const int k = f.column_index("key"); k >= 0)
    c.keys = key_strings(f.read_column(k), f.columns()[static_cast<size_t>(k)], path);
  return c;
}

}  // namespace

Cache load_cache(const std::string& path, const Progress& progress) {
  TQ_CHECK(std::filesystem::is_regular_file(path), "{}: no such cache file", path);
  if (has_suffix(path, ".npz")) return feature_cache_npz(path);
  TQ_CHECK(parquet::is_parquet_path(path), "{}: a cache is .npz, .parquet or .pq", path);
  const parquet::File f = parquet::File::open(path);
  auto has = [&](const char* c) { return f.column_index(c) >= 0; };
  if (has("deg_path") && has("clean_path")) return frame_cache(f, path, true, progress);
  if (has("frame_path") && has("mos")) return frame_cache(f, path, false, progress);
  bool any_feature = false;
  for (const char* c : kFeatureColumns) any_feature = any_feature || has(c);
  TQ_CHECK(any_feature,
           "{}: not a cache the fork writes: no feature columns ({}), no frame_path + mos, no deg_path + "
           "clean_path; "
           "columns: {}",
           path, fmt::join(kFeatureColumns, ", "), fmt::join(column_names(f), ", "));
  return feature_cache_parquet(f, path);
}

}  // namespace tinyqat::data
