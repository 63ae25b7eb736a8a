// Parquet's thrift structures, the fields this reader uses, and their compact-protocol decoding
// (parquet_format.cpp, over libthrift's TCompactProtocol). Field ids and enum values are those of the
// published format specification (parquet-format's parquet.thrift). Unknown fields are skipped, so
// newer writers stay readable; a missing required field is an error.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tinyqat::parquet::format {

// Physical type, as numbered by the spec: BOOLEAN 0 … FIXED_LEN_BYTE_ARRAY 7.
enum PhysicalType : int32_t {
  kBoolean = 0,
  kInt32 = 1,
  kInt64 = 2,
  kInt96 = 3,
  kFloat = 4,
  kDouble = 5,
  kByteArray = 6,
  kFixedLenByteArray = 7
};
enum Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum Codec : int32_t {
  kUncompressed = 0,
  kSnappy = 1,
  kGzip = 2,
  kLzo = 3,
  kBrotli = 4,
  kLz4 = 5,
  kZstd = 6,
  kLz4Raw = 7
};
enum Encoding : int32_t {
  kPlain = 0,
  kPlainDictionary = 2,
  kRle = 3,
  kBitPacked = 4,
  kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6,
  kDeltaByteArray = 7,
  kRleDictionary = 8,
  kByteStreamSplit = 9
};
enum PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };

std::string codec_name(int32_t c);     // "SNAPPY", … or "codec 42"
std::string encoding_name(int32_t e);  // "PLAIN", … or "encoding 42"

struct SchemaElement {
  std::optional<int32_t> type, type_length, repetition, num_children, converted_type, scale, precision;
  std::string name;
  std::string logical;  // the LogicalType union, rendered ("STRING", "INT(8,signed)", …), "" if unset
};

struct ColumnMetaData {
  int32_t type = 0;
  std::vector<int32_t> encodings;
  std::vector<std::string> path;
  int32_t codec = 0;
  int64_t num_values = 0, total_uncompressed_size = 0, total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
};

struct ColumnChunk {
  std::string file_path;  // set: the data lives in another file (refused)
  std::optional<ColumnMetaData> meta;
  bool encrypted = false;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t num_rows = 0;
};

struct FileMetaData {
  int32_t version = 0;
  std::vector<SchemaElement> schema;
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<std::pair<std::string, std::string>> key_value;
  std::string created_by;
  bool encrypted = false;  // encryption_algorithm set (plaintext-footer encryption)
};

struct DataPageHeader {
  int32_t num_values = 0, encoding = 0, def_encoding = 0, rep_encoding = 0;
};
struct DataPageHeaderV2 {
  int32_t num_values = 0, num_nulls = 0, num_rows = 0, encoding = 0, def_bytes = 0, rep_bytes = 0;
  bool is_compressed = true;
};
struct DictionaryPageHeader {
  int32_t num_values = 0, encoding = 0;
};
struct PageHeader {
  int32_t type = 0, uncompressed_size = 0, compressed_size = 0;
  std::optional<DataPageHeader> v1;
  std::optional<DataPageHeaderV2> v2;
  std::optional<DictionaryPageHeader> dict;
};

// Decodes the footer (exactly `size` bytes). Error text starts with "footer: ".
FileMetaData decode_file_metadata(const uint8_t* data, size_t size);
// Decodes a page header at the start of `data` (at most `size` bytes); *used receives its length.
// Error text starts with "page header: ".
PageHeader decode_page_header(const uint8_t* data, size_t size, size_t* used);

}  // namespace tinyqat::parquet::format
