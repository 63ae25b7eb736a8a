// Apache Parquet reader for flat tables: what pandas/pyarrow and DuckDB write for a data frame.
//
//   - schema: a root with primitive columns, REQUIRED or OPTIONAL (nulls); nested columns (lists, maps,
//     structs) are listed but refused when read
//   - physical types: BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96
//     (the last two as raw bytes)
//   - pages: data page v1 and v2, dictionary pages; index pages are skipped
//   - encodings: PLAIN, PLAIN_DICTIONARY / RLE_DICTIONARY, RLE and BIT_PACKED levels, RLE booleans,
//     DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT
//   - codecs: UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW, BROTLI (LZO and the old Hadoop LZ4 framing are
//     refused by name); encrypted files are refused
//
// The footer is decoded with libthrift's compact protocol (docs/decisions/0004-parquet-reader.md).
// Nothing in a file is trusted: every offset and size is checked against the file and its column
// chunk, every count against what the enclosing structure claims, and every allocation is bounded by
// both the bytes the file holds and ReadLimits. Opening a file reads only its footer; reading a column
// reads only that column chunk, so memory is bounded by the row groups read, not the file size.
// Every problem is a tinyqat::Error naming the file (and the column and row group when there is one).
#pragma once
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace tinyqat::parquet {

enum class Type : uint8_t { Boolean, Int32, Int64, Int96, Float, Double, ByteArray, FixedLenByteArray };
const char* type_name(Type t);  // "BOOLEAN", "INT32", ...

struct ReadLimits {
  uint64_t max_footer_bytes = uint64_t(256) << 20;  // the serialized footer
  uint64_t max_page_bytes = uint64_t(1) << 30;      // one page, compressed or not
  uint64_t max_column_bytes = uint64_t(8) << 30;    // the decoded values of one column chunk
};

struct ColumnInfo {
  std::string name;  // dotted path for nested columns
  Type type = Type::Int32;
  int32_t type_length = 0;  // FIXED_LEN_BYTE_ARRAY width
  bool optional = false;    // may hold nulls
  bool nested = false;      // inside a group or repeated: listed, not readable
  std::string logical;      // "STRING", "INT(8,signed)", "DECIMAL(10,2)", "TIMESTAMP(MICROS)", ... or ""
  int decimal_scale = -1;   // DECIMAL columns: value = unscaled integer / 10^scale (-1: not a decimal)
  bool is_string() const { return logical == "STRING" || logical == "ENUM" || logical == "JSON"; }
};

struct ChunkInfo {                     // one column in one row group, as the footer describes it
  std::string codec;                   // "SNAPPY", ...
  std::vector<std::string> encodings;  // as listed by the writer
  int64_t num_values = 0, compressed_bytes = 0, uncompressed_bytes = 0;
};

// The values of one column in one row group (or several, appended). Exactly one of the value vectors is
// filled, with one entry per row (a null row holds 0 / false / ""); `valid` is empty when no row is null,
// otherwise one byte per row (1 = a value).
struct Column {
  std::string name;
  Type type = Type::Int32;
  int decimal_scale = -1;  // as ColumnInfo
  int64_t rows = 0;
  std::vector<uint8_t> valid;
  std::vector<uint8_t> b;          // BOOLEAN
  std::vector<int32_t> i32;        // INT32
  std::vector<int64_t> i64;        // INT64
  std::vector<float> f32;          // FLOAT
  std::vector<double> f64;         // DOUBLE
  std::vector<std::string> bytes;  // BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96
  int64_t null_count() const;
  bool is_null(int64_t row) const { return !valid.empty() && !valid[static_cast<size_t>(row)]; }
  // Row `row` as a double: numbers, booleans and DECIMAL (INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY
  // of up to 16 bytes); Error naming the column otherwise.
  double number(int64_t row) const;
  void append(Column&& more);  // same name and type
};

// What reading a column chunk met (tests and `tinyqat data show --pages` use it).
struct PageStats {
  int dictionary_pages = 0, v1_pages = 0, v2_pages = 0;
  std::set<std::string> encodings;  // of the values (data pages) and levels
};

// Where the bytes come from: a file (read with pread, never whole) or a buffer (tests, fuzzing).
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  virtual void read(uint64_t offset, size_t n, uint8_t* dst) const = 0;  // Error when it cannot
};
std::unique_ptr<Source> file_source(const std::string& path);
std::unique_ptr<Source> memory_source(const uint8_t* data, size_t size);  // not copied: keep it alive

class File {
 public:
  // Reads and checks the footer. `what` names the file in errors (the path for file sources).
  File(std::unique_ptr<Source> src, std::string what, ReadLimits limits = {});
  static File open(const std::string& path, ReadLimits limits = {});
  ~File();
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;

  const std::string& what() const { return what_; }
  uint64_t file_bytes() const;
  int64_t num_rows() const;
  int num_row_groups() const;
  int64_t row_group_rows(int row_group) const;
  const std::vector<ColumnInfo>& columns() const;
  int column_index(const std::string& name) const;  // -1 when absent
  ChunkInfo chunk(int row_group, int column) const;
  std::string created_by() const;
  std::vector<std::pair<std::string, std::string>> key_value_metadata() const;

  // Reads and decodes one column chunk; `stats` (optional) counts what it met.
  Column read(int row_group, int column, PageStats* stats = nullptr) const;
  // Appends one column chunk's rows to `out` (a column of this file's `column`): decoded in place, no
  // copy. read() and read_column() are built on it.
  void read_into(int row_group, int column, Column& out, PageStats* stats = nullptr) const;
  // The whole column: every row group in order.
  Column read_column(int column) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string what_;
};

bool is_parquet_path(const std::string& path);  // ends in .parquet or .pq (any case)

}  // namespace tinyqat::parquet
