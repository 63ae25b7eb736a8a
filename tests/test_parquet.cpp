// The Parquet reader against an independent writer (DuckDB, at test time: every codec and encoding it
// writes, values compared exactly), hand-built files for what DuckDB never writes, the encodings on
// their own, and bad input (truncation at every length, lying sizes, allocation bounds).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "io/parquet.h"
#include "io/parquet_decode.h"
#include "support/parquet_support.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

using parquet::Column;
using parquet::File;
using parquet::PageStats;

// ---------------------------------------------------------------- a random table and its CSV

struct Table {
  std::vector<double> d, lowd;
  std::vector<float> f;
  std::vector<int32_t> i;
  std::vector<int64_t> l;
  std::vector<std::string> s, low;
  std::vector<uint8_t> b;
  std::vector<std::optional<double>> nd;
  std::vector<std::optional<std::string>> ns;
  std::vector<std::optional<int32_t>> ni;
  size_t size() const { return d.size(); }
};

uint64_t bits64(Rng& r) {
  return static_cast<uint64_t>(r.next()) << 32 | r.next();
}

Table random_table(size_t n, uint64_t seed) {
  Rng r(seed);
  const char* const pieces[] = {"a", "b", "c", "X", "Y", "0", "9", " ", "_", "é", "✓", "日本"};
  auto word = [&](size_t max_len) {
    std::string w;
    const size_t len = r.next() % (max_len + 1);
    for (size_t k = 0; k < len; ++k) w += pieces[r.next() % 12];
    return w;
  };
  Table t;
  for (size_t k = 0; k < n; ++k) {
    // Finite doubles and floats over many magnitudes, both signs.
    const double m = static_cast<double>(bits64(r) >> 11) / 9007199254740992.0;
    t.d.push_back(std::ldexp(m, static_cast<int>(r.next() % 80) - 40) * (r.next() & 1 ? -1 : 1));
    t.f.push_back(static_cast<float>(std::ldexp(m, static_cast<int>(r.next() % 40) - 20)) *
                  (r.next() & 1 ? -1.f : 1.f));
    t.i.push_back(static_cast<int32_t>(r.next()));
    t.l.push_back(static_cast<int64_t>(bits64(r)));
    t.s.push_back(word(12));
    t.low.push_back(fmt::format("grade-{}", r.next() % 7));
    t.lowd.push_back(0.125 * (r.next() % 5));
    t.b.push_back(r.next() & 1);
    t.nd.push_back(r.next() % 5 == 0 ? std::nullopt : std::optional<double>(m * 1000));
    t.ns.push_back(r.next() % 4 == 0 ? std::nullopt : std::optional<std::string>(word(6)));
    t.ni.push_back(r.next() % 6 == 0 ? std::nullopt
                                     : std::optional<int32_t>(static_cast<int32_t>(3 * k) - 100));
  }
  return t;
}

const char* kColumns =
    "{'d': 'DOUBLE', 'f': 'FLOAT', 'i': 'INTEGER', 'l': 'BIGINT', 's': 'VARCHAR', 'low': 'VARCHAR', "
    "'lowd': 'DOUBLE', 'b': 'BOOLEAN', 'nd': 'DOUBLE', 'ns': 'VARCHAR', 'ni': 'INTEGER'}";

void write_csv(const Table& t, const fs::path& p) {
  std::string out = "d,f,i,l,s,low,lowd,b,nd,ns,ni\n";
  for (size_t k = 0; k < t.size(); ++k)
    out += fmt::format(
        "{:.17g},{:.9g},{},{},\"{}\",\"{}\",{:.17g},{},{},{},{}\n", t.d[k], t.f[k], t.i[k], t.l[k], t.s[k],
        t.low[k], t.lowd[k], t.b[k] ? "true" : "false", t.nd[k] ? fmt::format("{:.17g}", *t.nd[k]) : "NULL",
        t.ns[k] ? "\"" + *t.ns[k] + "\"" : "NULL", t.ni[k] ? std::to_string(*t.ni[k]) : "NULL");
  std::ofstream(p) << out;
}

std::string load_table_sql(const fs::path& csv) {
  return fmt::format(
      "create table t as select * from read_csv('{}', header = true, nullstr = 'NULL', quote = '\"', columns "
      "= {})\n;\n",
      csv.string(), kColumns);
}

Column whole(const File& f, const std::string& name, PageStats* st) {
  const int c = f.column_index(name);
  if (c < 0) throw std::runtime_error("no column " + name);
  Column all;
  all.name = name;
  all.type = f.columns()[static_cast<size_t>(c)].type;
  for (int g = 0; g < f.num_row_groups(); ++g) all.append(f.read(g, c, st));
  return all;
}

// Every value, bit for bit.
void expect_table(const File& f, const Table& t, PageStats* st) {
  ASSERT_EQ(f.num_rows(), static_cast<int64_t>(t.size()));
  const Column d = whole(f, "d", st), fl = whole(f, "f", st), i = whole(f, "i", st), l = whole(f, "l", st),
               s = whole(f, "s", st), low = whole(f, "low", st), lowd = whole(f, "lowd", st),
               b = whole(f, "b", st), nd = whole(f, "nd", st), ns = whole(f, "ns", st),
               ni = whole(f, "ni", st);
  EXPECT_EQ(d.type, parquet::Type::Double);
  EXPECT_EQ(fl.type, parquet::Type::Float);
  EXPECT_EQ(s.type, parquet::Type::ByteArray);
  EXPECT_EQ(b.type, parquet::Type::Boolean);
  EXPECT_TRUE(f.columns()[static_cast<size_t>(f.column_index("s"))].is_string());
  size_t bad = 0;
  for (size_t k = 0; k < t.size() && bad < 5; ++k) {
    const auto r = static_cast<int64_t>(k);
    auto check = [&](bool ok, const char* col) {
      if (!ok) ADD_FAILURE() << "row " << k << " column " << col, ++bad;
    };
    check(std::memcmp(&d.f64[k], &t.d[k], 8) == 0, "d");
    check(std::memcmp(&fl.f32[k], &t.f[k], 4) == 0, "f");
    check(i.i32[k] == t.i[k], "i");
    check(l.i64[k] == t.l[k], "l");
    check(s.bytes[k] == t.s[k], "s");
    check(low.bytes[k] == t.low[k], "low");
    check(lowd.f64[k] == t.lowd[k], "lowd");
    check(b.b[k] == t.b[k], "b");
    check(nd.is_null(r) == !t.nd[k] && (!t.nd[k] || nd.f64[k] == *t.nd[k]), "nd");
    check(ns.is_null(r) == !t.ns[k] && (!t.ns[k] || ns.bytes[k] == *t.ns[k]), "ns");
    check(ni.is_null(r) == !t.ni[k] && (!t.ni[k] || ni.i32[k] == *t.ni[k]), "ni");
  }
  EXPECT_EQ(d.null_count(), 0);
  EXPECT_GT(nd.null_count(), 0);
}

// ---------------------------------------------------------------- DuckDB-written files

TEST(Parquet, ReadsBackEveryCodecAndEncodingDuckDbWrites) {
  TQ_REQUIRE_DUCKDB();
  const fs::path dir = temp_dir("parquet_duckdb");
  const Table t = random_table(5000, 7);
  write_csv(t, dir / "t.csv");
  struct Variant {
    std::string name, options;
  };
  std::vector<Variant> variants;
  for (const char* codec : {"uncompressed", "snappy", "gzip", "zstd", "lz4", "brotli"})
    for (const char* version : {"v1", "v2"})
      variants.push_back(
          {fmt::format("{}_{}", codec, version),
           fmt::format("compression {}, parquet_version {}, row_group_size 2048", codec, version)});
  // Without dictionaries: PLAIN (v1) and the DELTA / BYTE_STREAM_SPLIT encodings for every column (v2).
  variants.push_back({"nodict_v1", "compression snappy, dictionary_size_limit 1"});
  variants.push_back({"nodict_v2", "compression zstd, parquet_version v2, dictionary_size_limit 1"});
  std::string sql = load_table_sql(dir / "t.csv");
  for (const auto& v : variants)
    sql += fmt::format("copy t to '{}' (format parquet, {})\n;\n", (dir / (v.name + ".parquet")).string(),
                       v.options);
  run_duckdb(sql, dir);

  PageStats all;
  std::set<std::string> codecs;
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    const File f = File::open((dir / (v.name + ".parquet")).string());
    if (v.name.find("nodict") == std::string::npos) {
      EXPECT_GT(f.num_row_groups(), 1);
    }
    PageStats st;
    expect_table(f, t, &st);
    for (int c = 0; c < static_cast<int>(f.columns().size()); ++c) codecs.insert(f.chunk(0, c).codec);
    all.dictionary_pages += st.dictionary_pages, all.v1_pages += st.v1_pages, all.v2_pages += st.v2_pages;
    all.encodings.insert(st.encodings.begin(), st.encodings.end());
  }
  // The claim "every encoding and codec DuckDB writes" is only true if the files really used them.
  for (const char* c : {"UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD", "LZ4_RAW", "BROTLI"})
    EXPECT_TRUE(codecs.count(c)) << c;
  for (const char* e : {"PLAIN", "PLAIN_DICTIONARY", "RLE_DICTIONARY", "DELTA_BINARY_PACKED",
                        "DELTA_LENGTH_BYTE_ARRAY", "BYTE_STREAM_SPLIT", "levels:RLE"})
    EXPECT_TRUE(all.encodings.count(e)) << e;
  EXPECT_GT(all.dictionary_pages, 0);
  EXPECT_GT(all.v1_pages, 0);  // DuckDB 1.5 writes v1 page headers only, even with parquet_version v2
  std::printf("parquet: DuckDB files read back exactly: %zu variants, encodings:", variants.size());
  for (const auto& e : all.encodings) std::printf(" %s", e.c_str());
  std::printf("\n");
}

// The second writer (arrow-rs) rewrites DuckDB's file: data page v2 headers, DELTA_BYTE_ARRAY, RLE
// booleans, many small pages, every codec.
TEST(Parquet, ReadsBackWhatArrowRsWritesIncludingDataPageV2) {
  TQ_REQUIRE_DUCKDB();
  TQ_REQUIRE_ARROW();
  const fs::path dir = temp_dir("parquet_arrow");
  const Table t = random_table(3000, 11);
  write_csv(t, dir / "t.csv");
  run_duckdb(load_table_sql(dir / "t.csv") +
                 fmt::format("copy t to '{}' (format parquet)\n", (dir / "src.parquet").string()),
             dir);
  struct Variant {
    std::string name, options;
  };
  const std::string deltas =
      R"("encodings": {"s": "DELTA_BYTE_ARRAY", "ns": "DELTA_BYTE_ARRAY", "low": "DELTA_LENGTH_BYTE_ARRAY",
                       "i": "DELTA_BINARY_PACKED", "l": "DELTA_BINARY_PACKED", "ni": "DELTA_BINARY_PACKED",
                       "d": "BYTE_STREAM_SPLIT", "f": "BYTE_STREAM_SPLIT", "b": "RLE"})";
  std::vector<Variant> variants;
  for (const char* codec : {"UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD", "LZ4_RAW", "BROTLI"})
    variants.push_back(
        {fmt::format("v2_dict_{}", codec),
         fmt::format(
             R"({{"version": "v2", "compression": "{}", "page_bytes": 4096, "row_group_rows": 1000}})",
             codec)});
  variants.push_back(
      {"v2_deltas", R"({"version": "v2", "compression": "ZSTD", "page_bytes": 2048, )" + deltas + "}"});
  variants.push_back({"v1_deltas", R"({"version": "v1", "compression": "SNAPPY", )" + deltas + "}"});
  variants.push_back({"v1_plain", R"({"version": "v1", "compression": "GZIP", "dictionary": false})"});
  std::string jobs = "[";
  for (const auto& v : variants)
    jobs += fmt::format(R"({{"out": "{}", {})", (dir / (v.name + ".parquet")).string(), v.options.substr(1)) +
            ",";
  jobs += fmt::format(R"({{"out": "{}", "version": "v1", "compression": "LZ4"}}])",
                      (dir / "lz4.parquet").string());
  arrow_rewrite(dir / "src.parquet", jobs, dir);
  PageStats all;
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    const File f = File::open((dir / (v.name + ".parquet")).string());
    PageStats st;
    expect_table(f, t, &st);
    if (v.name.starts_with("v2")) {
      EXPECT_GT(st.v2_pages, 0);
      EXPECT_EQ(st.v1_pages, 0);
    }
    all.dictionary_pages += st.dictionary_pages, all.v1_pages += st.v1_pages, all.v2_pages += st.v2_pages;
    all.encodings.insert(st.encodings.begin(), st.encodings.end());
  }
  for (const char* e : {"PLAIN", "RLE_DICTIONARY", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
                        "DELTA_BYTE_ARRAY", "BYTE_STREAM_SPLIT", "RLE", "levels:RLE"})
    EXPECT_TRUE(all.encodings.count(e)) << e;
  EXPECT_GT(all.v2_pages, 100) << "small pages: many of them";
  // The deprecated Hadoop-framed LZ4 is refused by name.
  const File f = File::open((dir / "lz4.parquet").string());
  try {
    f.read_column(0);
    ADD_FAILURE() << "LZ4 (Hadoop framing) was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("compression codec LZ4 is not supported"), std::string::npos)
        << e.what();
  }
  std::printf("parquet: arrow-rs files read back exactly: %zu variants, %d v2 pages, encodings:",
              variants.size(), all.v2_pages);
  for (const auto& e : all.encodings) std::printf(" %s", e.c_str());
  std::printf("\n");
}

// A counting source: reading one row group must not read the others.
class CountingSource : public parquet::Source {
 public:
  explicit CountingSource(std::vector<uint8_t> b) : b_(std::move(b)) {}
  uint64_t size() const override { return b_.size(); }
  void read(uint64_t off, size_t n, uint8_t* dst) const override {
    TQ_CHECK(off + n <= b_.size(), "out of range");
    std::memcpy(dst, b_.data() + off, n);
    bytes_read += n;
  }
  mutable uint64_t bytes_read = 0;

 private:
  std::vector<uint8_t> b_;
};

TEST(Parquet, MemoryIsBoundedByTheRowGroupsRead) {
  TQ_REQUIRE_DUCKDB();
  const fs::path dir = temp_dir("parquet_rowgroups");
  run_duckdb(
      fmt::format("copy (select (range * 7919 % 100003)::DOUBLE / 3 as v, range as k from range(200000)) to "
                  "'{}' (format parquet, compression uncompressed, row_group_size 20480)",
                  (dir / "big.parquet").string()),
      dir);
  auto src = std::make_unique<CountingSource>(read_file((dir / "big.parquet").string()));
  CountingSource* counter = src.get();
  const uint64_t file_bytes = src->size();
  File f(std::move(src), "big.parquet");
  ASSERT_GE(f.num_row_groups(), 8);
  const uint64_t footer_bytes = counter->bytes_read;
  EXPECT_LT(footer_bytes, file_bytes / 20) << "opening reads the footer only";
  const Column c = f.read(3, 0);
  EXPECT_EQ(c.rows, f.row_group_rows(3));
  const uint64_t chunk = static_cast<uint64_t>(f.chunk(3, 0).compressed_bytes);
  EXPECT_EQ(counter->bytes_read - footer_bytes, chunk) << "reading a chunk reads that chunk only";
  int64_t first = 0;
  for (int g = 0; g < 3; ++g) first += f.row_group_rows(g);
  for (int64_t r = 0; r < c.rows; r += 997)
    EXPECT_EQ(c.f64[static_cast<size_t>(r)], static_cast<double>((first + r) * 7919 % 100003) / 3);
}

TEST(Parquet, NestedColumnsAreListedAndRefusedByName) {
  TQ_REQUIRE_DUCKDB();
  const fs::path dir = temp_dir("parquet_nested");
  run_duckdb(fmt::format(
                 "copy (select range as id, [range, range + 1] as pair, {{'a': range}} as st from range(10)) "
                 "to '{}' (format parquet)",
                 (dir / "n.parquet").string()),
             dir);
  const File f = File::open((dir / "n.parquet").string());
  ASSERT_EQ(f.columns().size(), 3u);
  EXPECT_FALSE(f.columns()[0].nested);
  EXPECT_TRUE(f.columns()[1].nested);
  EXPECT_EQ(f.read_column(0).i64[9], 9);
  try {
    f.read_column(1);
    ADD_FAILURE() << "a nested column was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nested"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pair"), std::string::npos) << e.what();
  }
}

// The fuzzer's seed files (fuzz/make_parquet_corpus.sh: DuckDB and arrow-rs, every codec, v1 and v2
// pages) are checked in, so these checks run without node.
TEST(Parquet, CheckedInSeedFilesReadBackTheirValues) {
  const fs::path dir = fs::path(TQ_SOURCE_DIR) / "fuzz" / "corpus" / "parquet";
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("duckdb_") && !name.starts_with("arrow_")) continue;  // the others are not this table
    SCOPED_TRACE(e.path().filename().string());
    const File f = File::open(e.path().string());
    ASSERT_EQ(f.num_rows(), 40);
    PageStats st;
    const Column d = whole(f, "d", &st), i = whole(f, "i", &st), nd = whole(f, "nd", &st),
                 ns = whole(f, "ns", &st), dec = whole(f, "dec", &st), b = whole(f, "b", &st);
    for (int64_t r = 0; r < 40; ++r) {
      const auto k = static_cast<size_t>(r);
      EXPECT_EQ(d.f64[k], static_cast<double>(r) / 7);
      EXPECT_EQ(i.i32[k], 3 * r);
      EXPECT_EQ(nd.is_null(r), r % 3 == 0);
      EXPECT_EQ(ns.is_null(r), r % 4 == 1);
      EXPECT_EQ(b.b[k], r % 2 == 0);
      EXPECT_DOUBLE_EQ(dec.number(r), 1.5 * static_cast<double>(r));
    }
    ++files;
  }
  EXPECT_GE(files, 8);
}

// ---------------------------------------------------------------- hand-built files

TEST(Parquet, RequiredColumnsAndBitPackedLevels) {
  const std::vector<uint8_t> bytes = handmade_parquet(37);
  const File f(parquet::memory_source(bytes.data(), bytes.size()), "hand.parquet");
  ASSERT_EQ(f.columns().size(), 3u);
  EXPECT_FALSE(f.columns()[0].optional);
  EXPECT_TRUE(f.columns()[2].optional);
  EXPECT_EQ(f.created_by(), "tinyqat tests (hand-built)");
  PageStats st;
  const Column x = f.read(0, 0, &st), y = f.read(0, 1, &st), z = f.read(0, 2, &st);
  EXPECT_TRUE(st.encodings.count("levels:BIT_PACKED"));
  ASSERT_EQ(x.rows, 37);
  for (int64_t i = 0; i < 37; ++i) {
    EXPECT_EQ(x.i64[static_cast<size_t>(i)], 7 * i - 3);
    EXPECT_EQ(y.f64[static_cast<size_t>(i)], static_cast<double>(i) / 4);
    EXPECT_EQ(z.is_null(i), i % 3 == 2);
    if (i % 3 != 2) {
      EXPECT_EQ(z.i32[static_cast<size_t>(i)], i);
    }
  }
  EXPECT_EQ(z.null_count(), 12);
}

void expect_parquet_error(const std::vector<uint8_t>& bytes, const std::string& needle,
                          parquet::ReadLimits limits = {}) {
  try {
    const File f(parquet::memory_source(bytes.data(), bytes.size()), "bad.parquet", limits);
    for (int c = 0; c < static_cast<int>(f.columns().size()); ++c) f.read_column(c);
    ADD_FAILURE() << "no error, expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("bad.parquet: ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(Parquet, LiesAreErrorsNamingFileColumnAndProblem) {
  expect_parquet_error(handmade_parquet(10, {.row_group_rows = 11, .file_rows = 11}),
                       "column 'x', row group 0");
  expect_parquet_error(handmade_parquet(10, {.file_rows = 12}),
                       "the row groups hold 10 rows, the file claims 12");
  expect_parquet_error(handmade_parquet(10, {.page_num_values = 12}), "claims 12 values where 10 are left");
  expect_parquet_error(handmade_parquet(10, {.page_uncompressed = 79}),
                       "an uncompressed page holds 80 bytes");
  expect_parquet_error(handmade_parquet(10, {.chunk_bytes_delta = 100000}), "lie outside the data");
  expect_parquet_error(handmade_parquet(10, {.z_type = 9}), "physical type 9");
  // A tiny file that claims a huge row group: refused before anything is allocated.
  expect_parquet_error(
      handmade_parquet(10, {.row_group_rows = int64_t(1) << 40, .file_rows = int64_t(1) << 40}), "limit");
  parquet::ReadLimits small;
  small.max_column_bytes = 64;
  expect_parquet_error(handmade_parquet(10), "limit", small);
  expect_parquet_error({}, "not a Parquet file");
  expect_parquet_error({'P', 'A', 'R', '1', 0, 0, 0, 0, 'P', 'A', 'R', '1'}, "footer length 0");
  std::vector<uint8_t> enc = handmade_parquet(3);
  std::memcpy(enc.data() + enc.size() - 4, "PARE", 4);
  expect_parquet_error(enc, "encrypted");
}

TEST(Parquet, EveryTruncationIsAnError) {
  const std::vector<uint8_t> good = handmade_parquet(20);
  for (size_t n = 0; n < good.size(); ++n) {
    const std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      const File f(parquet::memory_source(cut.data(), cut.size()), "cut.parquet");
      for (int c = 0; c < 3; ++c) f.read_column(c);
      ADD_FAILURE() << "a file cut to " << n << " bytes was read";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cut.parquet: ", 0), 0u) << e.what();
    }
  }
  // A cut in the middle of a page (the footer copied from the whole file) names the column.
  std::vector<uint8_t> bytes = handmade_parquet(20);
  bytes[60] ^= 0xff;
  try {
    const File f(parquet::memory_source(bytes.data(), bytes.size()), "flip.parquet");
    for (int c = 0; c < 3; ++c) f.read_column(c);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("flip.parquet: ", 0), 0u) << e.what();
  }
}

TEST(Parquet, CorruptFileOnDiskIsExitCode2NamingIt) {
  const fs::path dir = temp_dir("parquet_cli_bad");
  std::vector<uint8_t> good = handmade_parquet(20);
  write_file_atomic((dir / "good.parquet").string(), good);
  good.resize(good.size() - 9);
  write_file_atomic((dir / "cut.parquet").string(), good);
  CliResult ok = cli("data show " + (dir / "good.parquet").string(), dir);
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("INT64"), std::string::npos) << ok.out;
  CliResult bad = cli("data show " + (dir / "cut.parquet").string(), dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("cut.parquet"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("truncated"), std::string::npos) << bad.err;
}

// ---------------------------------------------------------------- encodings on their own

using parquet::detail::Span;

TEST(ParquetEncodings, RleHybridRunsAndBitPackedGroups) {
  // RLE run of 5 × 3 (bit width 2), then one bit-packed group of 8: 0..7 & 3.
  const std::vector<uint8_t> b = {5 << 1, 3, (1 << 1) | 1, 0b11100100, 0b11100100};
  std::vector<uint32_t> out(13);
  EXPECT_EQ(parquet::detail::rle_hybrid(Span{b.data(), b.size()}, 2, 13, out.data()), b.size());
  EXPECT_EQ(out, (std::vector<uint32_t>{3, 3, 3, 3, 3, 0, 1, 2, 3, 0, 1, 2, 3}));
  EXPECT_THROW(parquet::detail::rle_hybrid(Span{b.data(), 3}, 2, 13, out.data()), Error);
  const std::vector<uint8_t> too_big = {2 << 1, 9};  // 9 does not fit 2 bits
  EXPECT_THROW(parquet::detail::rle_hybrid(Span{too_big.data(), too_big.size()}, 2, 2, out.data()), Error);
}

TEST(ParquetEncodings, BitPackedMsbFirst) {
  const std::vector<uint8_t> b = {0b00000101, 0b00111001, 0b01110111};  // the spec's example: 0..7, 3 bits
  std::vector<uint32_t> out(8);
  parquet::detail::bit_packed_msb(Span{b.data(), b.size()}, 3, 8, out.data());
  EXPECT_EQ(out, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

// DELTA_BINARY_PACKED written here: block 128, 4 miniblocks of 32.
std::vector<uint8_t> delta_encode(const std::vector<int64_t>& v) {
  CompactWriter w;  // only its varint / zigzag
  w.varint(128), w.varint(4), w.varint(v.size());
  w.zigzag(v.empty() ? 0 : v[0]);
  for (size_t at = 1; at < v.size(); at += 128) {
    std::vector<uint64_t> d;
    for (size_t k = at; k < std::min(v.size(), at + 128); ++k)
      d.push_back(static_cast<uint64_t>(v[k]) - static_cast<uint64_t>(v[k - 1]));
    int64_t mn = INT64_MAX;
    for (uint64_t x : d) mn = std::min(mn, static_cast<int64_t>(x));
    w.zigzag(mn);
    const size_t minis = (d.size() + 31) / 32;
    std::vector<int> widths(4, 0);
    for (size_t m = 0; m < minis; ++m)
      for (size_t k = m * 32; k < std::min(d.size(), m * 32 + 32); ++k)
        widths[m] = std::max(widths[m], 64 - __builtin_clzll((d[k] - static_cast<uint64_t>(mn)) | 1) +
                                            ((d[k] - static_cast<uint64_t>(mn)) == 0 ? -1 : 0));
    for (int x : widths) w.out.push_back(static_cast<uint8_t>(x));
    for (size_t m = 0; m < minis; ++m) {
      std::vector<uint8_t> bits(static_cast<size_t>(32 * widths[m] / 8), 0);
      for (size_t k = 0; k < 32; ++k) {
        const uint64_t x = m * 32 + k < d.size() ? d[m * 32 + k] - static_cast<uint64_t>(mn) : 0;
        for (int bit = 0; bit < widths[m]; ++bit)
          if (x >> bit & 1)
            bits[(k * widths[m] + bit) / 8] |= static_cast<uint8_t>(1 << ((k * widths[m] + bit) % 8));
      }
      w.out.insert(w.out.end(), bits.begin(), bits.end());
    }
  }
  return w.out;
}

TEST(ParquetEncodings, DeltaBinaryPackedRoundTripsAndWraps) {
  std::vector<int64_t> v = {5, -3, INT64_MAX, INT64_MIN, 0};
  Rng r(3);
  for (int k = 0; k < 300; ++k) v.push_back(v.back() + static_cast<int32_t>(r.next() % 2001) - 1000);
  const std::vector<uint8_t> b = delta_encode(v);
  size_t used = 0;
  EXPECT_EQ(parquet::detail::delta_binary_packed(Span{b.data(), b.size()}, v.size(), &used), v);
  EXPECT_EQ(used, b.size());
  EXPECT_THROW(parquet::detail::delta_binary_packed(Span{b.data(), b.size()}, v.size() - 1, &used), Error);
  EXPECT_THROW(parquet::detail::delta_binary_packed(Span{b.data(), b.size() / 2}, v.size(), &used), Error);
  const std::vector<uint8_t> one = delta_encode({42});
  EXPECT_EQ(parquet::detail::delta_binary_packed(Span{one.data(), one.size()}, 1, &used),
            std::vector<int64_t>{42});
}

TEST(ParquetEncodings, DeltaByteArraySharesPrefixesWithinABound) {
  // "apple", "applesauce", "apricot", "" : prefixes 0, 5, 2, 0; suffixes "apple", "sauce", "ricot", "".
  std::vector<uint8_t> b = delta_encode({0, 5, 2, 0});
  const std::vector<uint8_t> lens = delta_encode({5, 5, 5, 0});
  b.insert(b.end(), lens.begin(), lens.end());
  for (const char* s : {"apple", "sauce", "ricot"}) b.insert(b.end(), s, s + 5);
  EXPECT_EQ(parquet::detail::delta_byte_array(Span{b.data(), b.size()}, 4, 1000),
            (std::vector<std::string>{"apple", "applesauce", "apricot", ""}));
  EXPECT_THROW(parquet::detail::delta_byte_array(Span{b.data(), b.size()}, 4, 20), Error);  // over the bound
  std::vector<uint8_t> bad = delta_encode({3, 0, 0, 0});  // the first value cannot reuse anything
  bad.insert(bad.end(), lens.begin(), lens.end());
  for (const char* s : {"apple", "sauce", "ricot"}) bad.insert(bad.end(), s, s + 5);
  EXPECT_THROW(parquet::detail::delta_byte_array(Span{bad.data(), bad.size()}, 4, 1000), Error);
}

TEST(ParquetEncodings, CodecsRefuseWrongSizes) {
  const std::vector<uint8_t> raw(100, 7);
  EXPECT_THROW(parquet::detail::decompress(0, Span{raw.data(), raw.size()}, 99), Error);
  EXPECT_THROW(parquet::detail::decompress(1, Span{raw.data(), raw.size()}, 100), Error);  // not snappy
  EXPECT_THROW(parquet::detail::decompress(6, Span{raw.data(), raw.size()}, 100), Error);  // not zstd
  EXPECT_THROW(parquet::detail::decompress(2, Span{raw.data(), raw.size()}, 100), Error);  // not gzip
  EXPECT_THROW(parquet::detail::decompress(3, Span{raw.data(), raw.size()}, 100), Error);  // LZO: refused
}

}  // namespace
}  // namespace tinyqat::test
