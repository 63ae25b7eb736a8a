// The Parquet reader: file layout, schema, column chunks and their pages (parquet.h).
#include "io/parquet.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "io/parquet_decode.h"
#include "io/parquet_format.h"

namespace tinyqat::parquet {

using detail::Span;
namespace fmtn = format;

const char* type_name(Type t) {
  switch (t) {
    case Type::Boolean:
      return "BOOLEAN";
    case Type::Int32:
      return "INT32";
    case Type::Int64:
      return "INT64";
    case Type::Int96:
      return "INT96";
    case Type::Float:
      return "FLOAT";
    case Type::Double:
      return "DOUBLE";
    case Type::ByteArray:
      return "BYTE_ARRAY";
    case Type::FixedLenByteArray:
      return "FIXED_LEN_BYTE_ARRAY";
  }
  return "?";
}

bool is_parquet_path(const std::string& path) {
  std::string low = path;
  for (char& c : low) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  auto ends = [&](const char* s) {
    const size_t n = std::strlen(s);
    return low.size() > n && low.compare(low.size() - n, n, s) == 0;
  };
  return ends(".parquet") || ends(".pq");
}

// ---------------------------------------------------------------- sources

namespace {

class FileSource : public Source {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    TQ_CHECK(fd_ >= 0, "{}: cannot open: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      fail("{}: not a regular file", path);
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, size_t n, uint8_t* dst) const override {
    TQ_CHECK(offset <= size_ && n <= size_ - offset, "{}: {} bytes at offset {} lie past the end ({} bytes)",
             path_, n, offset, size_);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      TQ_CHECK(got > 0, "{}: read failed at offset {}: {}", path_, offset,
               got == 0 ? "the file got shorter" : std::strerror(errno));
      dst += got, n -= static_cast<size_t>(got), offset += static_cast<uint64_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

class MemorySource : public Source {
 public:
  MemorySource(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint64_t size() const override { return n_; }
  void read(uint64_t offset, size_t n, uint8_t* dst) const override {
    TQ_CHECK(offset <= n_ && n <= n_ - offset, "{} bytes at offset {} lie past the end ({} bytes)", n, offset,
             n_);
    if (n) std::memcpy(dst, p_ + offset, n);
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

}  // namespace

std::unique_ptr<Source> file_source(const std::string& path) {
  return std::make_unique<FileSource>(path);
}
std::unique_ptr<Source> memory_source(const uint8_t* data, size_t size) {
  return std::make_unique<MemorySource>(data, size);
}

// ---------------------------------------------------------------- Column

int64_t Column::null_count() const {
  return valid.empty() ? 0 : static_cast<int64_t>(std::count(valid.begin(), valid.end(), uint8_t(0)));
}

double Column::number(int64_t row) const {
  const auto r = static_cast<size_t>(row);
  if (decimal_scale >= 0) {
    __int128 v = 0;
    if (type == Type::Int32) {
      v = i32[r];
    } else if (type == Type::Int64) {
      v = i64[r];
    } else if (type == Type::FixedLenByteArray || type == Type::ByteArray) {
      const std::string& b = bytes[r];  // big-endian two's complement
      TQ_CHECK(b.size() <= 16, "column '{}': a {}-byte DECIMAL does not fit 128 bits", name, b.size());
      for (char c : b) v = v * 256 + static_cast<uint8_t>(c);
      if (!b.empty() && b.size() < 16 && (static_cast<uint8_t>(b[0]) & 0x80))
        v -= static_cast<__int128>(1) << (8 * b.size());
    } else {
      fail("column '{}': DECIMAL stored as {}", name, type_name(type));
    }
    return static_cast<double>(v) / std::pow(10.0, decimal_scale);
  }
  switch (type) {
    case Type::Boolean:
      return b[r];
    case Type::Int32:
      return i32[r];
    case Type::Int64:
      return static_cast<double>(i64[r]);
    case Type::Float:
      return f32[r];
    case Type::Double:
      return f64[r];
    default:
      fail("column '{}' holds {} values, not numbers", name, type_name(type));
  }
}

namespace {

// Calls f on the value vector that a column of type t uses.
template <class F>
decltype(auto) visit_values(Column& c, F&& f) {
  switch (c.type) {
    case Type::Boolean:
      return f(c.b);
    case Type::Int32:
      return f(c.i32);
    case Type::Int64:
      return f(c.i64);
    case Type::Float:
      return f(c.f32);
    case Type::Double:
      return f(c.f64);
    default:
      return f(c.bytes);
  }
}

template <class V>
void move_append(V& dst, V& src) {
  if (dst.empty() && dst.capacity() < src.size()) {
    dst = std::move(src);
    return;
  }
  dst.insert(dst.end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
}

}  // namespace

void Column::append(Column&& more) {
  TQ_CHECK(more.type == type, "column '{}': appending {} values to {} values", name, type_name(more.type),
           type_name(type));
  if (rows == 0) decimal_scale = more.decimal_scale;
  TQ_CHECK(more.decimal_scale == decimal_scale, "column '{}': appending DECIMAL scale {} to scale {}", name,
           more.decimal_scale, decimal_scale);
  if (!valid.empty() || !more.valid.empty()) {
    if (valid.empty()) valid.assign(static_cast<size_t>(rows), 1);
    if (more.valid.empty()) more.valid.assign(static_cast<size_t>(more.rows), 1);
    move_append(valid, more.valid);
  }
  visit_values(*this, [&](auto& v) {
    using V = std::decay_t<decltype(v)>;
    V* other = nullptr;
    visit_values(more, [&](auto& w) {
      if constexpr (std::is_same_v<std::decay_t<decltype(w)>, V>) other = &w;
    });
    move_append(v, *other);
  });
  rows += more.rows;
}

// ---------------------------------------------------------------- File

namespace {

struct Leaf {
  ColumnInfo info;
  int max_def = 0, max_rep = 0;
};

Type to_type(int32_t t, const std::string& file, const std::string& column) {
  TQ_CHECK(t >= 0 && t <= 7, "{}: footer: column '{}' has physical type {}, which the format does not define",
           file, column, t);
  return static_cast<Type>(t);  // enum order matches the spec's numbering
}

// The logical type, from LogicalType when written, otherwise from the older ConvertedType.
std::string logical_of(const fmtn::SchemaElement& e) {
  if (!e.logical.empty()) return e.logical;
  if (!e.converted_type) return "";
  switch (*e.converted_type) {
    case 0:
      return "STRING";
    case 4:
      return "ENUM";
    case 5:
      return fmt::format("DECIMAL({},{})", e.precision.value_or(0), e.scale.value_or(0));
    case 6:
      return "DATE";
    case 7:
      return "TIME(MILLIS)";
    case 8:
      return "TIME(MICROS)";
    case 9:
      return "TIMESTAMP(MILLIS)";
    case 10:
      return "TIMESTAMP(MICROS)";
    case 11:
      return "INT(8,unsigned)";
    case 12:
      return "INT(16,unsigned)";
    case 13:
      return "INT(32,unsigned)";
    case 14:
      return "INT(64,unsigned)";
    case 15:
      return "INT(8,signed)";
    case 16:
      return "INT(16,signed)";
    case 17:
      return "INT(32,signed)";
    case 18:
      return "INT(64,signed)";
    case 19:
      return "JSON";
    case 20:
      return "BSON";
    default:
      return fmt::format("converted type {}", *e.converted_type);
  }
}

}  // namespace

struct File::Impl {
  std::unique_ptr<Source> src;
  ReadLimits limits;
  fmtn::FileMetaData meta;
  std::vector<Leaf> leaves;
  std::vector<ColumnInfo> columns;
  uint64_t data_end = 0;  // where the footer starts: column chunks lie in [4, data_end)
};

File::File(std::unique_ptr<Source> src, std::string what, ReadLimits limits)
    : impl_(std::make_unique<Impl>()), what_(std::move(what)) {
  Impl& m = *impl_;
  m.src = std::move(src);
  m.limits = limits;
  const std::string& w = what_;
  const uint64_t size = m.src->size();
  TQ_CHECK(size >= 12, "{}: not a Parquet file ({} bytes; a Parquet file starts and ends with PAR1)", w,
           size);
  uint8_t head[4], tail[8];
  m.src->read(0, 4, head);
  m.src->read(size - 8, 8, tail);
  TQ_CHECK(std::memcmp(tail + 4, "PARE", 4) != 0 && std::memcmp(head, "PARE", 4) != 0,
           "{}: an encrypted Parquet file (not supported)", w);
  TQ_CHECK(std::memcmp(head, "PAR1", 4) == 0, "{}: not a Parquet file (it does not start with PAR1)", w);
  TQ_CHECK(std::memcmp(tail + 4, "PAR1", 4) == 0,
           "{}: truncated or not a Parquet file (it does not end with PAR1; {} bytes)", w, size);
  uint32_t footer = 0;
  for (int i = 0; i < 4; ++i) footer |= static_cast<uint32_t>(tail[i]) << (8 * i);
  TQ_CHECK(footer > 0 && footer <= size - 12,
           "{}: footer length {} does not fit the {}-byte file (truncated?)", w, footer, size);
  TQ_CHECK(footer <= m.limits.max_footer_bytes, "{}: footer of {} bytes is over the {}-byte limit", w, footer,
           m.limits.max_footer_bytes);
  m.data_end = size - 8 - footer;
  std::vector<uint8_t> fb(footer);
  m.src->read(m.data_end, footer, fb.data());
  try {
    m.meta = fmtn::decode_file_metadata(fb.data(), fb.size());
  } catch (const Error& e) {
    fail("{}: {}", w, e.what());
  }
  TQ_CHECK(!m.meta.encrypted, "{}: an encrypted Parquet file (not supported)", w);

  // Schema: a depth-first list; element 0 is the root group.
  const auto& s = m.meta.schema;
  TQ_CHECK(!s.empty(), "{}: footer: the schema is empty", w);
  struct Frame {
    int64_t children_left;
    std::string prefix;
    int def, rep, depth;
  };
  TQ_CHECK(s[0].num_children.value_or(0) >= 0 &&
               static_cast<uint64_t>(s[0].num_children.value_or(0)) <= s.size() - 1,
           "{}: footer: the schema root claims {} children, the schema has {} elements", w,
           s[0].num_children.value_or(0), s.size());
  std::vector<Frame> stack{{s[0].num_children.value_or(0), "", 0, 0, 0}};
  size_t i = 1;
  while (!stack.empty()) {
    if (stack.back().children_left == 0) {
      stack.pop_back();
      continue;
    }
    --stack.back().children_left;
    TQ_CHECK(i < s.size(), "{}: footer: the schema ends inside a group", w);
    const fmtn::SchemaElement& e = s[i++];
    const Frame& parent = stack.back();
    const int32_t rep = e.repetition.value_or(fmtn::kRequired);
    TQ_CHECK(rep >= 0 && rep <= 2, "{}: footer: schema element '{}' has repetition {}", w, e.name, rep);
    const std::string name = parent.prefix.empty() ? e.name : parent.prefix + "." + e.name;
    const int def = parent.def + (rep != fmtn::kRequired), rp = parent.rep + (rep == fmtn::kRepeated);
    const int64_t kids = e.num_children.value_or(0);
    if (kids > 0) {
      TQ_CHECK(static_cast<uint64_t>(kids) <= s.size() - i, "{}: footer: group '{}' claims {} children", w,
               name, kids);
      stack.push_back({kids, name, def, rp, parent.depth + 1});
      continue;
    }
    TQ_CHECK(e.type.has_value(), "{}: footer: column '{}' has no physical type", w, name);
    Leaf l;
    l.info.name = name;
    l.info.type = to_type(*e.type, w, name);
    l.info.type_length = e.type_length.value_or(0);
    l.info.optional = def > 0;
    l.info.nested = parent.depth > 0 || rp > 0;
    l.info.logical = logical_of(e);
    if (l.info.logical.rfind("DECIMAL(", 0) == 0) {
      l.info.decimal_scale = std::stoi(l.info.logical.substr(l.info.logical.find(',') + 1));
      TQ_CHECK(l.info.decimal_scale >= 0 && l.info.decimal_scale <= 76, "{}: footer: column '{}' is {}", w,
               name, l.info.logical);
    }
    l.max_def = def, l.max_rep = rp;
    TQ_CHECK(
        l.info.type != Type::FixedLenByteArray || (l.info.type_length > 0 && l.info.type_length <= (1 << 20)),
        "{}: footer: FIXED_LEN_BYTE_ARRAY column '{}' has length {}", w, name, l.info.type_length);
    m.leaves.push_back(l);
    m.columns.push_back(l.info);
  }
  TQ_CHECK(i == s.size(), "{}: footer: {} schema elements belong to no group", w, s.size() - i);
  TQ_CHECK(m.meta.num_rows >= 0, "{}: footer: negative row count {}", w, m.meta.num_rows);
  int64_t rows = 0;
  for (size_t g = 0; g < m.meta.row_groups.size(); ++g) {
    const auto& rg = m.meta.row_groups[g];
    TQ_CHECK(rg.num_rows >= 0 && rg.num_rows <= m.meta.num_rows - rows,
             "{}: footer: row group {} claims {} rows, more than the file's {}", w, g, rg.num_rows,
             m.meta.num_rows);
    rows += rg.num_rows;
    TQ_CHECK(rg.columns.size() == m.leaves.size(),
             "{}: footer: row group {} has {} column chunks for {} columns", w, g, rg.columns.size(),
             m.leaves.size());
  }
  TQ_CHECK(rows == m.meta.num_rows, "{}: footer: the row groups hold {} rows, the file claims {}", w, rows,
           m.meta.num_rows);
}

File File::open(const std::string& path, ReadLimits limits) {
  return File(file_source(path), path, limits);
}

File::~File() = default;
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;

uint64_t File::file_bytes() const {
  return impl_->src->size();
}
int64_t File::num_rows() const {
  return impl_->meta.num_rows;
}
int File::num_row_groups() const {
  return static_cast<int>(impl_->meta.row_groups.size());
}
int64_t File::row_group_rows(int g) const {
  return impl_->meta.row_groups.at(static_cast<size_t>(g)).num_rows;
}
const std::vector<ColumnInfo>& File::columns() const {
  return impl_->columns;
}
int File::column_index(const std::string& name) const {
  for (size_t i = 0; i < impl_->columns.size(); ++i)
    if (impl_->columns[i].name == name) return static_cast<int>(i);
  return -1;
}
std::string File::created_by() const {
  return impl_->meta.created_by;
}
std::vector<std::pair<std::string, std::string>> File::key_value_metadata() const {
  return impl_->meta.key_value;
}

ChunkInfo File::chunk(int g, int c) const {
  const auto& cc = impl_->meta.row_groups.at(static_cast<size_t>(g)).columns.at(static_cast<size_t>(c));
  ChunkInfo info;
  if (!cc.meta) return info;
  info.codec = fmtn::codec_name(cc.meta->codec);
  for (int32_t e : cc.meta->encodings) info.encodings.push_back(fmtn::encoding_name(e));
  info.num_values = cc.meta->num_values;
  info.compressed_bytes = cc.meta->total_compressed_size;
  info.uncompressed_bytes = cc.meta->total_uncompressed_size;
  return info;
}

// ---------------------------------------------------------------- reading a column chunk

namespace {

size_t value_width(const ColumnInfo& c) {
  switch (c.type) {
    case Type::Boolean:
      return 1;
    case Type::Int32:
    case Type::Float:
      return 4;
    case Type::Int64:
    case Type::Double:
      return 8;
    case Type::Int96:
      return 12;
    case Type::FixedLenByteArray:
      return static_cast<size_t>(c.type_length);
    case Type::ByteArray:
      return 0;
  }
  return 0;
}

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// Decodes one column chunk's pages into dense values (non-null only) and, for optional columns, one
// validity byte per row.
class ChunkReader {
 public:
  // `rows`: the row group's, already checked against the limits: the values are reserved once (growing
  // vectors page by page costs a fresh allocation, and its page faults, every doubling).
  ChunkReader(const Leaf& leaf, int32_t codec, const ReadLimits& limits, Column& out, PageStats* stats,
              int64_t rows)
      : leaf_(leaf), info_(leaf.info), codec_(codec), limits_(limits), out_(out), stats_(stats) {
    visit_values(out_, [&](auto& v) { v.reserve(v.size() + static_cast<size_t>(rows)); });
    if (leaf_.max_def > 0) valid_.reserve(static_cast<size_t>(rows));
  }

  void page(const fmtn::PageHeader& h, Span body, int64_t values_left) {
    if (stats_) {
      stats_->dictionary_pages += h.type == fmtn::kDictionaryPage;
      stats_->v1_pages += h.type == fmtn::kDataPage;
      stats_->v2_pages += h.type == fmtn::kDataPageV2;
      if (h.v1) {
        stats_->encodings.insert(fmtn::encoding_name(h.v1->encoding));
        if (leaf_.max_def > 0) stats_->encodings.insert("levels:" + fmtn::encoding_name(h.v1->def_encoding));
      }
      if (h.v2) stats_->encodings.insert(fmtn::encoding_name(h.v2->encoding));
      if (h.v2 && leaf_.max_def > 0) stats_->encodings.insert("levels:RLE");
    }
    switch (h.type) {
      case fmtn::kDictionaryPage:
        return dictionary_page(h, body);
      case fmtn::kDataPage:
        return data_page_v1(h, body, values_left);
      case fmtn::kDataPageV2:
        return data_page_v2(h, body, values_left);
      case fmtn::kIndexPage:
        return;
      default:
        fail("unknown page type {}", h.type);
    }
  }
  int64_t values_read() const { return values_read_; }
  bool any_null() const { return any_null_; }
  const std::vector<uint8_t>& valid() const { return valid_; }  // this chunk's rows (optional columns)

 private:
  std::vector<uint8_t> inflate(Span body, int64_t size) {
    TQ_CHECK(size >= 0 && static_cast<uint64_t>(size) <= limits_.max_page_bytes,
             "a page claims {} uncompressed bytes (limit {})", size, limits_.max_page_bytes);
    return detail::decompress(codec_, body, static_cast<size_t>(size));
  }

  void dictionary_page(const fmtn::PageHeader& h, Span body) {
    TQ_CHECK(h.dict.has_value(), "a dictionary page without its header");
    TQ_CHECK(!dict_ && values_read_ == 0, "a second dictionary page, or one after the data pages");
    TQ_CHECK(h.dict->encoding == fmtn::kPlain || h.dict->encoding == fmtn::kPlainDictionary,
             "dictionary page encoding {} (PLAIN expected)", fmtn::encoding_name(h.dict->encoding));
    TQ_CHECK(h.dict->num_values >= 0, "a dictionary page claims {} values", h.dict->num_values);
    const std::vector<uint8_t> raw = inflate(body, h.uncompressed_size);
    dict_ = std::make_unique<Column>();
    dict_->type = info_.type;
    plain(Span{raw.data(), raw.size()}, static_cast<size_t>(h.dict->num_values), *dict_);
    dict_->rows = h.dict->num_values;
  }

  // Definition levels → validity; returns the number of values present.
  size_t levels_to_valid(const std::vector<uint32_t>& def, size_t n) {
    size_t present = 0;
    for (size_t i = 0; i < n; ++i) {
      TQ_CHECK(def[i] <= static_cast<uint32_t>(leaf_.max_def), "definition level {} is over the column's {}",
               def[i], leaf_.max_def);
      const bool ok = def[i] == static_cast<uint32_t>(leaf_.max_def);
      valid_.push_back(ok);
      present += ok;
    }
    if (present != n) any_null_ = true;
    return present;
  }

  static int bit_width(int max_level) {
    int w = 0;
    while ((1 << w) <= max_level) ++w;
    return w;
  }

  size_t check_count(int32_t n, int64_t values_left) {
    TQ_CHECK(n >= 0 && n <= values_left, "a data page claims {} values where {} are left in the column chunk",
             n, values_left);
    return static_cast<size_t>(n);
  }

  void data_page_v1(const fmtn::PageHeader& h, Span body, int64_t values_left) {
    TQ_CHECK(h.v1.has_value(), "a data page without its header");
    const size_t n = check_count(h.v1->num_values, values_left);
    const std::vector<uint8_t> raw = inflate(body, h.uncompressed_size);
    Span r{raw.data(), raw.size()};
    size_t present = n;
    if (leaf_.max_def > 0) {
      std::vector<uint32_t> def(n);
      size_t used = 0;
      if (h.v1->def_encoding == fmtn::kRle) {
        TQ_CHECK(r.n >= 4, "definition levels: the length prefix runs past the end of the page");
        const uint32_t len = le32(r.p);
        detail::rle_hybrid(r.sub(4, len), bit_width(leaf_.max_def), n, def.data());
        used = 4 + static_cast<size_t>(len);
      } else if (h.v1->def_encoding == fmtn::kBitPacked) {
        used = detail::bit_packed_msb(r, bit_width(leaf_.max_def), n, def.data());
      } else {
        fail("definition levels in encoding {}", fmtn::encoding_name(h.v1->def_encoding));
      }
      r = r.sub(used, r.n - used);
      present = levels_to_valid(def, n);
    }
    values(h.v1->encoding, r, present);
    values_read_ += static_cast<int64_t>(n);
  }

  void data_page_v2(const fmtn::PageHeader& h, Span body, int64_t values_left) {
    TQ_CHECK(h.v2.has_value(), "a data page v2 without its header");
    const auto& v = *h.v2;
    const size_t n = check_count(v.num_values, values_left);
    TQ_CHECK(v.rep_bytes >= 0 && v.def_bytes >= 0 &&
                 static_cast<uint64_t>(v.rep_bytes) + static_cast<uint64_t>(v.def_bytes) <= body.n &&
                 static_cast<int64_t>(v.rep_bytes) + v.def_bytes <= h.uncompressed_size,
             "data page v2: level lengths {} + {} do not fit the page", v.rep_bytes, v.def_bytes);
    TQ_CHECK(leaf_.max_rep > 0 || v.rep_bytes == 0, "data page v2: repetition levels in a flat column");
    const size_t lv = static_cast<size_t>(v.rep_bytes) + static_cast<size_t>(v.def_bytes);
    size_t present = n;
    if (leaf_.max_def > 0) {
      std::vector<uint32_t> def(n);
      detail::rle_hybrid(body.sub(static_cast<size_t>(v.rep_bytes), static_cast<size_t>(v.def_bytes)),
                         bit_width(leaf_.max_def), n, def.data());
      present = levels_to_valid(def, n);
    } else {
      TQ_CHECK(v.def_bytes == 0, "data page v2: definition levels in a required column");
    }
    TQ_CHECK(v.num_nulls >= 0 && static_cast<size_t>(v.num_nulls) == n - present,
             "data page v2 claims {} nulls, its definition levels say {}", v.num_nulls, n - present);
    const Span data = body.sub(lv, body.n - lv);
    const int64_t size = h.uncompressed_size - static_cast<int64_t>(lv);
    std::vector<uint8_t> raw;
    Span r = data;
    if (v.is_compressed && codec_ != fmtn::kUncompressed) {
      raw = inflate(data, size);
      r = Span{raw.data(), raw.size()};
    } else {
      TQ_CHECK(static_cast<int64_t>(data.n) == size, "data page v2: {} value bytes, the header claims {}",
               data.n, size);
    }
    values(v.encoding, r, present);
    values_read_ += static_cast<int64_t>(n);
  }

  void count_bytes(size_t n) {
    bytes_ += n;
    TQ_CHECK(bytes_ <= limits_.max_column_bytes, "the column chunk's values grow past the {}-byte limit",
             limits_.max_column_bytes);
  }

  // PLAIN values into `c`'s dense vector.
  void plain(Span r, size_t n, Column& c) {
    const size_t w = value_width(info_);
    switch (info_.type) {
      case Type::Boolean: {
        TQ_CHECK((n + 7) / 8 <= r.n, "{} PLAIN booleans need {} bytes, {} are left", n, (n + 7) / 8, r.n);
        count_bytes(n);
        for (size_t i = 0; i < n; ++i) c.b.push_back((r.p[i >> 3] >> (i & 7)) & 1);
        return;
      }
      case Type::ByteArray: {
        TQ_CHECK(n <= r.n / 4, "{} PLAIN byte arrays cannot fit {} bytes", n, r.n);
        c.bytes.reserve(c.bytes.size() + n);
        for (size_t i = 0; i < n; ++i) {
          TQ_CHECK(r.n >= 4, "PLAIN byte array {} runs past the end of the page", i);
          const uint32_t len = le32(r.p);
          TQ_CHECK(len <= r.n - 4, "PLAIN byte array {} claims {} bytes, {} are left", i, len, r.n - 4);
          count_bytes(len + sizeof(std::string));
          c.bytes.emplace_back(reinterpret_cast<const char*>(r.p + 4), len);
          r.p += 4 + len, r.n -= 4 + len;
        }
        return;
      }
      default:
        break;
    }
    TQ_CHECK(w > 0 && n <= r.n / w, "{} PLAIN {} values need {} bytes, {} are left", n, type_name(info_.type),
             static_cast<unsigned __int128>(n) * w > UINT64_MAX ? UINT64_MAX : n * w, r.n);
    count_bytes(n * (info_.type == Type::Int96 || info_.type == Type::FixedLenByteArray
                         ? w + sizeof(std::string)
                         : w));
    auto copy = [&](auto& v) {
      const size_t at = v.size();
      v.resize(at + n);
      if (n) std::memcpy(v.data() + at, r.p, n * w);  // an empty page may have no bytes at all
    };
    switch (info_.type) {
      case Type::Int32:
        return copy(c.i32);
      case Type::Int64:
        return copy(c.i64);
      case Type::Float:
        return copy(c.f32);
      case Type::Double:
        return copy(c.f64);
      default:
        for (size_t i = 0; i < n; ++i) c.bytes.emplace_back(reinterpret_cast<const char*>(r.p + i * w), w);
    }
  }

  void values(int32_t encoding, Span r, size_t n) {
    using namespace fmtn;
    const Type t = info_.type;
    auto refuse = [&] {
      fail("encoding {} is not valid for {} values", encoding_name(encoding), type_name(t));
    };
    switch (encoding) {
      case kPlain:
        return plain(r, n, out_);
      case kPlainDictionary:
      case kRleDictionary:
        return dictionary_indices(r, n);
      case kRle: {
        if (t != Type::Boolean) refuse();
        TQ_CHECK(r.n >= 4, "RLE booleans: the length prefix runs past the end of the page");
        std::vector<uint32_t> v(n);
        detail::rle_hybrid(r.sub(4, le32(r.p)), 1, n, v.data());
        count_bytes(n);
        for (uint32_t x : v) out_.b.push_back(static_cast<uint8_t>(x));
        return;
      }
      case kDeltaBinaryPacked: {
        if (t != Type::Int32 && t != Type::Int64) refuse();
        count_bytes(n * 8);
        size_t used = 0;
        const std::vector<int64_t> v = detail::delta_binary_packed(r, n, &used);
        TQ_CHECK(v.size() == n, "DELTA_BINARY_PACKED holds {} values, the page {}", v.size(), n);
        if (t == Type::Int64) {
          out_.i64.insert(out_.i64.end(), v.begin(), v.end());
        } else {
          for (int64_t x : v) out_.i32.push_back(static_cast<int32_t>(static_cast<uint32_t>(x)));
        }
        return;
      }
      case kDeltaLengthByteArray:
      case kDeltaByteArray: {
        if (t != Type::ByteArray && !(encoding == kDeltaByteArray && t == Type::FixedLenByteArray)) refuse();
        size_t used = 0;
        std::vector<std::string> v =
            encoding == kDeltaLengthByteArray
                ? detail::delta_length_byte_array(r, n, &used)
                : detail::delta_byte_array(
                      r, n, limits_.max_column_bytes - std::min(bytes_, limits_.max_column_bytes));
        for (auto& s : v) {
          TQ_CHECK(t != Type::FixedLenByteArray || s.size() == static_cast<size_t>(info_.type_length),
                   "a {}-byte value in a FIXED_LEN_BYTE_ARRAY({}) column", s.size(), info_.type_length);
          count_bytes(s.size() + sizeof(std::string));
          out_.bytes.push_back(std::move(s));
        }
        return;
      }
      case kByteStreamSplit: {
        const size_t w = value_width(info_);
        if (t == Type::Boolean || t == Type::ByteArray || t == Type::Int96) refuse();
        TQ_CHECK(n <= r.n / w, "BYTE_STREAM_SPLIT: {} values of {} bytes need more than the {} there are", n,
                 w, r.n);
        count_bytes(n * w);
        std::vector<uint8_t> joined(n * w);
        for (size_t k = 0; k < w; ++k)
          for (size_t i = 0; i < n; ++i) joined[i * w + k] = r.p[k * n + i];
        const Span j{joined.data(), joined.size()};
        return plain(j, n, out_);
      }
      default:
        fail("value encoding {} is not supported", encoding_name(encoding));
    }
  }

  void dictionary_indices(Span r, size_t n) {
    TQ_CHECK(dict_ != nullptr, "dictionary-encoded values without a dictionary page");
    TQ_CHECK(r.n >= 1 || n == 0, "dictionary indices: the bit width is missing");
    if (n == 0) return;
    const int bw = r.p[0];
    std::vector<uint32_t> idx(n);
    detail::rle_hybrid(r.sub(1, r.n - 1), bw, n, idx.data());
    const uint64_t size = static_cast<uint64_t>(dict_->rows);
    for (size_t i = 0; i < n; ++i)
      TQ_CHECK(idx[i] < size, "dictionary index {} is outside the {}-entry dictionary", idx[i], size);
    auto gather = [&](auto& dst, const auto& src) {
      for (uint32_t k : idx) dst.push_back(src[k]);
    };
    switch (info_.type) {
      case Type::Boolean:
        count_bytes(n);
        return gather(out_.b, dict_->b);
      case Type::Int32:
        count_bytes(4 * n);
        return gather(out_.i32, dict_->i32);
      case Type::Int64:
        count_bytes(8 * n);
        return gather(out_.i64, dict_->i64);
      case Type::Float:
        count_bytes(4 * n);
        return gather(out_.f32, dict_->f32);
      case Type::Double:
        count_bytes(8 * n);
        return gather(out_.f64, dict_->f64);
      default:
        for (uint32_t k : idx) {
          count_bytes(dict_->bytes[k].size() + sizeof(std::string));
          out_.bytes.push_back(dict_->bytes[k]);
        }
    }
  }

  const Leaf& leaf_;
  const ColumnInfo& info_;
  int32_t codec_;
  const ReadLimits& limits_;
  Column& out_;
  PageStats* stats_;
  std::unique_ptr<Column> dict_;
  int64_t values_read_ = 0;
  uint64_t bytes_ = 0;
  bool any_null_ = false;
  std::vector<uint8_t> valid_;
};

// Spreads one chunk's dense (non-null) values, which start at row `first`, over its rows: nulls get a
// zero value.
template <class V>
void spread(V& v, const std::vector<uint8_t>& valid, size_t first) {
  size_t src = v.size();
  v.resize(first + valid.size());
  for (size_t i = valid.size(); i-- > 0;) {
    const size_t dst = first + i;
    if (valid[i]) {
      if (--src != dst) v[dst] = std::move(v[src]);  // never a self-move: it empties a std::string
    } else {
      v[dst] = typename V::value_type();
    }
  }
}

}  // namespace

Column File::read(int g, int c, PageStats* stats) const {
  TQ_CHECK(c >= 0 && c < static_cast<int>(impl_->leaves.size()), "{}: no column {}", what_, c);
  Column out;
  out.name = impl_->columns[static_cast<size_t>(c)].name;
  out.type = impl_->columns[static_cast<size_t>(c)].type;
  out.decimal_scale = impl_->columns[static_cast<size_t>(c)].decimal_scale;
  read_into(g, c, out, stats);
  return out;
}

void File::read_into(int g, int c, Column& out, PageStats* stats) const {
  const Impl& m = *impl_;
  TQ_CHECK(g >= 0 && g < num_row_groups(), "{}: no row group {}", what_, g);
  TQ_CHECK(c >= 0 && c < static_cast<int>(m.leaves.size()), "{}: no column {}", what_, c);
  const Leaf& leaf = m.leaves[static_cast<size_t>(c)];
  const std::string where = fmt::format("{}: column '{}', row group {}", what_, leaf.info.name, g);
  TQ_CHECK(!leaf.info.nested, "{}: a nested column (list, map or struct); only flat columns are read", where);
  const auto& rg = m.meta.row_groups[static_cast<size_t>(g)];
  const auto& cc = rg.columns[static_cast<size_t>(c)];
  TQ_CHECK(!cc.encrypted, "{}: an encrypted column", where);
  TQ_CHECK(cc.file_path.empty(), "{}: the data lives in another file ('{}'), which is not supported", where,
           cc.file_path.substr(0, 80));
  TQ_CHECK(cc.meta.has_value(), "{}: the footer has no metadata for this column chunk", where);
  const fmtn::ColumnMetaData& cm = *cc.meta;
  TQ_CHECK(cm.type == static_cast<int32_t>(leaf.info.type),
           "{}: the chunk says physical type {}, the schema {}", where, cm.type, type_name(leaf.info.type));
  TQ_CHECK(cm.num_values == rg.num_rows, "{}: the chunk holds {} values for {} rows", where, cm.num_values,
           rg.num_rows);
  const uint64_t rows = static_cast<uint64_t>(rg.num_rows);
  const uint64_t per_row = std::max<uint64_t>(value_width(leaf.info), 1) +
                           (leaf.info.type == Type::ByteArray || leaf.info.type == Type::FixedLenByteArray ||
                                    leaf.info.type == Type::Int96
                                ? sizeof(std::string)
                                : 0) +
                           (leaf.info.optional ? 1 : 0);
  TQ_CHECK(rows <= m.limits.max_column_bytes / per_row,
           "{}: {} rows need more than the {}-byte limit for one column chunk", where, rows,
           m.limits.max_column_bytes);

  int64_t start = cm.data_page_offset;
  if (cm.dictionary_page_offset && *cm.dictionary_page_offset > 0 && *cm.dictionary_page_offset < start)
    start = *cm.dictionary_page_offset;
  const int64_t len = cm.total_compressed_size;
  TQ_CHECK(start >= 4 && len > 0 && static_cast<uint64_t>(start) <= m.data_end &&
               static_cast<uint64_t>(len) <= m.data_end - static_cast<uint64_t>(start),
           "{}: the chunk's {} bytes at offset {} lie outside the data ({} bytes; truncated?)", where, len,
           start, m.data_end);
  TQ_CHECK(static_cast<uint64_t>(len) <= m.limits.max_column_bytes, "{}: a {}-byte chunk is over the limit",
           where, len);
  std::vector<uint8_t> bytes(static_cast<size_t>(len));
  m.src->read(static_cast<uint64_t>(start), bytes.size(), bytes.data());

  const size_t first = static_cast<size_t>(out.rows);
  size_t have = 0;
  visit_values(out, [&](auto& v) { have = v.size(); });
  TQ_CHECK(out.type == leaf.info.type && have == first && (out.valid.empty() || out.valid.size() == first),
           "{}: read_into: the destination is not this column's (type {}, {} rows, {} values)", where,
           type_name(out.type), out.rows, have);
  ChunkReader reader(leaf, cm.codec, m.limits, out, stats, rg.num_rows);
  size_t pos = 0;
  int page = 0;
  try {
    while (reader.values_read() < rg.num_rows) {
      TQ_CHECK(pos < bytes.size(), "the chunk ends after {} of {} values", reader.values_read(), rg.num_rows);
      size_t used = 0;
      const fmtn::PageHeader h = fmtn::decode_page_header(bytes.data() + pos, bytes.size() - pos, &used);
      pos += used;
      TQ_CHECK(h.compressed_size >= 0 && static_cast<uint64_t>(h.compressed_size) <= bytes.size() - pos,
               "page {} claims {} bytes, the chunk has {} left", page, h.compressed_size, bytes.size() - pos);
      TQ_CHECK(h.uncompressed_size >= 0, "page {} claims {} uncompressed bytes", page, h.uncompressed_size);
      const Span body{bytes.data() + pos, static_cast<size_t>(h.compressed_size)};
      pos += static_cast<size_t>(h.compressed_size);
      reader.page(h, body, rg.num_rows - reader.values_read());
      ++page;
    }
  } catch (const Error& e) {
    fail("{}, page {}: {}", where, page, e.what());
  }
  if (reader.any_null()) {
    if (out.valid.empty()) out.valid.assign(first, 1);
    out.valid.insert(out.valid.end(), reader.valid().begin(), reader.valid().end());
    visit_values(out, [&](auto& v) { spread(v, reader.valid(), first); });
  } else if (!out.valid.empty()) {
    out.valid.insert(out.valid.end(), static_cast<size_t>(rg.num_rows), 1);
  }
  out.rows += rg.num_rows;
}

Column File::read_column(int c) const {
  TQ_CHECK(c >= 0 && c < static_cast<int>(impl_->leaves.size()), "{}: no column {}", what_, c);
  Column all;
  all.name = impl_->columns[static_cast<size_t>(c)].name;
  all.type = impl_->columns[static_cast<size_t>(c)].type;
  all.decimal_scale = impl_->columns[static_cast<size_t>(c)].decimal_scale;
  // Reserved once for every row group (their rows were checked against the limits one by one; together
  // they are bounded the same way before anything is read).
  const uint64_t per_row = std::max<size_t>(value_width(impl_->columns[static_cast<size_t>(c)]), 1) + 1;
  TQ_CHECK(static_cast<uint64_t>(num_rows()) <= impl_->limits.max_column_bytes / per_row,
           "{}: column '{}': {} rows need more than the {}-byte limit", what_, all.name, num_rows(),
           impl_->limits.max_column_bytes);
  visit_values(all, [&](auto& v) { v.reserve(static_cast<size_t>(num_rows())); });
  for (int g = 0; g < num_row_groups(); ++g) read_into(g, c, all, nullptr);
  return all;
}

}  // namespace tinyqat::parquet
