// Parquet files for the tests: DuckDB (npm @duckdb/node-api in tools/parquet) as the independent writer,
// and a tiny hand-built writer for what DuckDB never writes (REQUIRED columns, BIT_PACKED levels) and for
// files that lie (sizes, counts) on purpose.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tinyqat::test {

// "" when node and DuckDB run; otherwise why not (tests print one SKIP line with it).
std::string duckdb_missing();
// Runs SQL statements (separated by lines holding only ';') with DuckDB; throws on failure.
void run_duckdb(const std::string& sql, const std::filesystem::path& work);
// The same for the second writer, arrow-rs (npm parquet-wasm): rewrites `in` once per job; `jobs_json` is
// the JSON list tools/parquet/arrow_rewrite.js takes ([{"out": PATH, "version": "v2", ...}, ...]).
std::string arrow_missing();
void arrow_rewrite(const std::filesystem::path& in, const std::string& jobs_json,
                   const std::filesystem::path& work);

#define TQ_REQUIRE_DUCKDB()                                                                       \
  do {                                                                                            \
    if (std::string why_ = ::tinyqat::test::duckdb_missing(); !why_.empty()) {                    \
      std::printf("SKIP %s: DuckDB writer unavailable: %s\n",                                     \
                  ::testing::UnitTest::GetInstance()->current_test_info()->name(), why_.c_str()); \
      GTEST_SKIP();                                                                               \
    }                                                                                             \
  } while (0)

#define TQ_REQUIRE_ARROW()                                                                        \
  do {                                                                                            \
    if (std::string why_ = ::tinyqat::test::arrow_missing(); !why_.empty()) {                     \
      std::printf("SKIP %s: arrow-rs writer unavailable: %s\n",                                   \
                  ::testing::UnitTest::GetInstance()->current_test_info()->name(), why_.c_str()); \
      GTEST_SKIP();                                                                               \
    }                                                                                             \
  } while (0)

// Thrift compact protocol, written by hand (field headers, zigzag varints, lists): enough to build
// Parquet footers and page headers.
class CompactWriter {
 public:
  std::vector<uint8_t> out;
  void varint(uint64_t v);
  void zigzag(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void field(int id, int type);  // compact types: 5 i32, 6 i64, 8 binary, 9 list, 12 struct
  void i32(int id, int32_t v) { field(id, 5), zigzag(v); }
  void i64(int id, int64_t v) { field(id, 6), zigzag(v); }
  void boolean(int id, bool v) { field(id, v ? 1 : 2); }
  void str(int id, const std::string& s);
  void begin(int id);  // a struct field
  void end();          // closes the innermost struct
  void list(int id, int elem_type, size_t n);
  void element_struct() { last_.push_back(0); }  // a struct element of a list (close with end())
  void element_str(const std::string& s);
  void element_i32(int32_t v) { zigzag(v); }

 private:
  std::vector<int> last_{0};
};

// A hand-built file: one row group, one uncompressed PLAIN data page v1 per column:
//   x INT64 REQUIRED  = 7i − 3
//   y DOUBLE REQUIRED = i / 4
//   z INT32 OPTIONAL  = i, null when i % 3 == 2, definition levels in the deprecated BIT_PACKED encoding
// The fields of `Lies` replace what the footer or page headers claim.
struct Lies {
  int64_t row_group_rows = -1, file_rows = -1;
  int32_t page_num_values = -1, page_uncompressed = -1;
  int64_t chunk_bytes_delta = 0;
  int32_t z_type = 1;  // INT32
};
std::vector<uint8_t> handmade_parquet(int64_t rows, const Lies& lies = {});

}  // namespace tinyqat::test
