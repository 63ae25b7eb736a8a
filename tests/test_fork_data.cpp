// The fork's data caches (data/caches.h): the key-hash split against answers computed with the fork's
// own rule (Python's hashlib, once, by hand), feature and frame caches written by DuckDB at test time,
// `tinyqat data show` / `convert`, NumPy string arrays, and every bad cache an error naming file, column
// and row.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "data/caches.h"
#include "io/npy.h"
#include "io/zip.h"
#include "support/parquet_support.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

// sha256("vmaf-train-splits-v1:" + key)[:8] big-endian / 2^64, computed with Python's hashlib (the fork's
// splits.py rule) and written down here.
TEST(ForkSplits, KeyBucketsMatchThePythonRule) {
  EXPECT_DOUBLE_EQ(data::key_bucket("nflx_sv_000"), 0.43002206211162036);
  EXPECT_DOUBLE_EQ(data::key_bucket("clip_A"), 0.03320624023763663);
  EXPECT_DOUBLE_EQ(data::key_bucket("é✓"), 0.03147894271164132);
  EXPECT_DOUBLE_EQ(data::key_bucket("17"), 0.9576863343825456);
  EXPECT_DOUBLE_EQ(data::key_bucket(""), 0.07744588267178452);
  // The 211 Netflix rows keyed nflx_sv_000..210 with val 0.1 / test 0.1: Python puts 17 keys in test
  // (first nflx_sv_002, 006, 007, 016, 020) and 26 in val (first 010, 017, 030, 033, 048).
  std::vector<std::string> keys;
  for (int i = 0; i < 211; ++i) keys.push_back(fmt::format("nflx_sv_{:03d}", i));
  const data::SplitIndices s = data::split_by_key(keys, 0.1, 0.1);
  ASSERT_EQ(s.test.size(), 17u);
  ASSERT_EQ(s.val.size(), 26u);
  EXPECT_EQ(s.train.size(), 211u - 17 - 26);
  EXPECT_EQ(std::vector<int64_t>(s.test.begin(), s.test.begin() + 5),
            (std::vector<int64_t>{2, 6, 7, 16, 20}));
  EXPECT_EQ(std::vector<int64_t>(s.val.begin(), s.val.begin() + 5),
            (std::vector<int64_t>{10, 17, 30, 33, 48}));
}

TEST(ForkSplits, RowsFollowTheirKeyAndOneKeyFallsBackToAPermutation) {
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(fmt::format("clip{}", i % 37));  // 37 clips, many frames each
  const data::SplitIndices s = data::split_rows(keys, 300, 0.2, 0.2, 5);
  ASSERT_TRUE(s.by_key);
  std::map<std::string, int> where;
  for (auto [rows, tag] : {std::pair{&s.train, 0}, {&s.val, 1}, {&s.test, 2}})
    for (int64_t r : *rows) {
      auto [it, fresh] = where.emplace(keys[static_cast<size_t>(r)], tag);
      EXPECT_EQ(it->second, tag) << "clip " << keys[static_cast<size_t>(r)] << " is in two splits";
    }
  EXPECT_EQ(s.train.size() + s.val.size() + s.test.size(), 300u);
  // One distinct key (the fork: len(set(keys)) > 1 fails) → the seeded permutation.
  const data::SplitIndices p = data::split_rows(std::vector<std::string>(50, "same"), 50, 0.1, 0.2, 5);
  EXPECT_FALSE(p.by_key);
  EXPECT_EQ(p.test.size(), 10u);
  EXPECT_EQ(p.val.size(), 5u);
  EXPECT_EQ(p.train.size(), 35u);
  EXPECT_THROW(data::split_by_key(keys, 0.6, 0.4), Error);
}

TEST(ForkData, NumpyStringArraysRoundTrip) {
  const std::vector<std::string> s = {"nflx_sv_000", "", "é✓", "日本語 key", std::string(40, 'x')};
  const std::vector<uint8_t> b = serialize_npy_strings(s);
  EXPECT_TRUE(npy_holds_strings(b.data(), b.size()));
  EXPECT_EQ(parse_npy_strings(b.data(), b.size(), "k.npy"), s);
  EXPECT_THROW(serialize_npy_strings({std::string("\xff\xfe")}), Error);  // not UTF-8
  EXPECT_THROW(parse_npy(b.data(), b.size(), "k.npy"), Error);            // not a tensor
  // numpy's own bytes for np.array(['ab', 'c']): '<U2', UTF-32LE, NUL padding.
  std::vector<uint8_t> raw = serialize_npy_raw("<U2", {2}, "a\0\0\0b\0\0\0c\0\0\0\0\0\0\0", 16);
  EXPECT_EQ(parse_npy_strings(raw.data(), raw.size(), "r.npy"), (std::vector<std::string>{"ab", "c"}));
}

// ---------------------------------------------------------------- caches written by DuckDB

struct Written {
  fs::path dir, file;
};

Written duckdb_file(const std::string& name, const std::string& select) {
  const fs::path dir = temp_dir(name);
  const fs::path file = dir / (name + ".parquet");
  run_duckdb(fmt::format("copy ({}) to '{}' (format parquet)", select, file.string()), dir);
  return {dir, file};
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << needles[0];
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(ForkData, FeatureCacheParquetReadsTheForksColumnsAndKeys) {
  TQ_REQUIRE_DUCKDB();
  // Columns in another order, an extra column, integer mos, no vif_scale3: the fork takes the
  // FEATURE_COLUMNS present, in FEATURE_COLUMNS order.
  const Written w = duckdb_file(
      "fc",
      "select range::INTEGER as key, range * 10 as mos, range / 100 as motion2, 0.5 + range / 1000 as adm2, "
      "'x' as note, range / 7 as vif_scale0, range / 8 as vif_scale1, range / 9 as vif_scale2 from "
      "range(40)");
  const data::Cache c = data::load_cache(w.file.string());
  EXPECT_EQ(c.kind, "features");
  EXPECT_EQ(c.columns,
            (std::vector<std::string>{"adm2", "vif_scale0", "vif_scale1", "vif_scale2", "motion2"}));
  ASSERT_EQ(c.input.shape(), (Shape{40, 5}));
  EXPECT_FLOAT_EQ(c.input.data<float>()[7 * 5 + 0], static_cast<float>(0.5 + 7 / 1000.0));
  EXPECT_FLOAT_EQ(c.input.data<float>()[7 * 5 + 4], static_cast<float>(7 / 100.0));
  EXPECT_FLOAT_EQ(c.target.data<float>()[7], 70.f);
  ASSERT_EQ(c.keys.size(), 40u);
  EXPECT_EQ(c.keys[7], "7");  // str() of an integer key
}

TEST(ForkData, KeysSpellAsPandasAstypeStr) {
  TQ_REQUIRE_DUCKDB();
  const Written w = duckdb_file("fk",
                                "select * from (values (1.0::DOUBLE, 1, 0.1::DOUBLE), (1e16, 2, 3), "
                                "(1.5e-05, 3, 4), (123.25, 4, 5), (2.5e-07, 5, 6)) t(key, mos, adm2)");
  const data::Cache c = data::load_cache(w.file.string());
  EXPECT_EQ(c.keys, (std::vector<std::string>{"1.0", "1e+16", "1.5e-05", "123.25", "2.5e-07"}));
}

TEST(ForkData, BadFeatureCachesNameFileColumnAndRow) {
  TQ_REQUIRE_DUCKDB();
  const Written nul = duckdb_file(
      "fnull", "select range as mos, case when range = 3 then null else range end as adm2 from range(5)");
  expect_error([&] { data::load_cache(nul.file.string()); }, {nul.file.string(), "'adm2'", "row 3"});
  const Written nomos = duckdb_file("fnomos", "select range as adm2 from range(5)");
  expect_error([&] { data::load_cache(nomos.file.string()); }, {"no 'mos' column", "adm2"});
  const Written none = duckdb_file("fnone", "select range as a, range as b from range(5)");
  expect_error([&] { data::load_cache(none.file.string()); }, {"not a cache the fork writes", "a, b"});
  const Written nullkey = duckdb_file(
      "fnk",
      "select case when range = 2 then null else 'k' || range end as key, range as mos, range as adm2 "
      "from range(5)");
  expect_error([&] { data::load_cache(nullkey.file.string()); }, {"'key'", "row 2"});
  const Written strmos = duckdb_file("fsm", "select 'a' as mos, range as adm2 from range(5)");
  expect_error([&] { data::load_cache(strmos.file.string()); }, {"'mos'", "BYTE_ARRAY"});
  expect_error([&] { data::load_cache((nul.dir / "missing.parquet").string()); },
               {"missing.parquet", "no such"});
}

TEST(ForkData, FrameCachesLoadNpyAndImageFrames) {
  TQ_REQUIRE_DUCKDB();
  const fs::path dir = temp_dir("frames");
  for (int i = 0; i < 4; ++i) {
    Tensor f = Tensor::empty(DType::U8, {6, 8});
    for (int64_t k = 0; k < f.numel(); ++k) f.data<uint8_t>()[k] = static_cast<uint8_t>(10 * i + k);
    write_npy((dir / fmt::format("f{}.npy", i)).string(), f);
  }
  std::vector<uint8_t> rgb(6 * 8 * 3, 200);  // gray 200 → luma 200
  data::write_png_rgb((dir / "f4.png").string(), 6, 8, rgb);
  const fs::path nr = dir / "nr.parquet";
  run_duckdb(
      fmt::format("copy (select 'clip' || range as key, '{}/f' || range || case when range = 4 then '.png' "
                  "else '.npy' end as frame_path, range * 1.5 as mos from range(5)) to '{}' (format parquet)",
                  dir.string(), nr.string()),
      dir);
  const data::Cache c = data::load_cache(nr.string());
  EXPECT_EQ(c.kind, "frames");
  ASSERT_EQ(c.input.shape(), (Shape{5, 1, 6, 8}));
  EXPECT_FLOAT_EQ(c.input.data<float>()[2 * 48 + 5], (20.f + 5) / 255.f);  // the fork: astype(float32) / 255
  EXPECT_FLOAT_EQ(c.input.data<float>()[4 * 48], 200.f / 255.f);
  EXPECT_FLOAT_EQ(c.target.data<float>()[3], 4.5f);
  const fs::path pairs = dir / "pairs.parquet";
  run_duckdb(
      fmt::format("copy (select '{0}/f' || range || '.npy' as deg_path, '{0}/f' || (range + 1) || '.npy' "
                  "as clean_path from range(3)) to '{1}' (format parquet)",
                  dir.string(), pairs.string()),
      dir);
  const data::Cache p = data::load_cache(pairs.string());
  EXPECT_EQ(p.kind, "pairs");
  EXPECT_EQ(p.target.shape(), (Shape{3, 1, 6, 8}));
  EXPECT_FLOAT_EQ(p.target.data<float>()[0], 10.f / 255.f);
  EXPECT_TRUE(p.keys.empty());
  // A frame of another size, and a missing one.
  write_npy((dir / "big.npy").string(), Tensor::zeros(DType::U8, {7, 8}));
  const fs::path bad = dir / "bad.parquet";
  run_duckdb(
      fmt::format("copy (select * from (values ('{0}/f0.npy', 1.0), ('{0}/big.npy', 2.0), ('{0}/none.npy', "
                  "3.0)) t(frame_path, mos)) to '{1}' (format parquet)",
                  dir.string(), bad.string()),
      dir);
  expect_error([&] { data::load_cache(bad.string()); }, {"big.npy", "row 1", "7×8", "6×8"});
}

// ---------------------------------------------------------------- the CLI

TEST(ForkData, ShowAndConvertOnTheCommandLine) {
  TQ_REQUIRE_DUCKDB();
  const Written w = duckdb_file("cv",
                                "select 'k' || range as key, range::DOUBLE / 3 as adm2, range * 2 as mos, "
                                "case when range = 1 then null else range::DOUBLE end as nd, "
                                "case when range = 1 then null else range::INTEGER end as ni from range(6)");
  const CliResult show = cli_in(w.dir, "data show " + w.file.string(), w.dir);
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find("6 rows in 1 row group"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("STRING"), std::string::npos) << show.out;
  // columns: float64 kept, NaN for a null double, int null refused by name.
  const fs::path cols = w.dir / "cols.npz";
  CliResult bad = cli_in(w.dir, fmt::format("data convert {} -o {}", w.file.string(), cols.string()), w.dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("column 'ni' is null at row 1"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(cols)) << "nothing written on an error";
  CliResult ok = cli_in(
      w.dir, fmt::format("data convert {} -o {} --columns adm2,nd,key", w.file.string(), cols.string()),
      w.dir);
  ASSERT_EQ(ok.code, 0) << ok.err;
  const std::vector<uint8_t> bytes = read_file(cols.string());
  std::map<std::string, std::vector<uint8_t>> members;
  zip::read_members(
      bytes.data(), bytes.size(), "cols.npz",
      [&](const std::string& n, const uint8_t* p, size_t s) { members[n] = std::vector<uint8_t>(p, p + s); });
  ASSERT_EQ(members.size(), 3u);
  const auto& adm2 = members["adm2.npy"];
  EXPECT_NE(std::string(adm2.begin(), adm2.begin() + 64).find("'<f8'"), std::string::npos);
  double v;
  std::memcpy(&v, adm2.data() + adm2.size() - 8 * 5, 8);  // row 1
  EXPECT_EQ(v, 1.0 / 3);
  std::memcpy(&v, members["nd.npy"].data() + members["nd.npy"].size() - 8 * 5, 8);
  EXPECT_TRUE(std::isnan(v));
  const auto& key = members["key.npy"];
  EXPECT_EQ(parse_npy_strings(key.data(), key.size(), "key")[5], "k5");
  // The fork's npz feature cache, read back by the cache loader.
  const fs::path fc = w.dir / "fc.npz";
  ASSERT_EQ(
      cli_in(w.dir, fmt::format("data convert {} --layout feature-cache -o {}", w.file.string(), fc.string()),
             w.dir)
          .code,
      0);
  const data::Cache a = data::load_cache(w.file.string()), b = data::load_cache(fc.string());
  EXPECT_EQ(a.keys, b.keys);
  ASSERT_EQ(a.input.shape(), b.input.shape());
  EXPECT_EQ(std::memcmp(a.input.raw(), b.input.raw(), a.input.nbytes()), 0);
  EXPECT_EQ(std::memcmp(a.target.raw(), b.target.raw(), a.target.nbytes()), 0);
  const CliResult shown = cli_in(w.dir, "data show " + fc.string(), w.dir);
  EXPECT_NE(shown.out.find("features         float32  [6,1]"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("key              strings  [6]"), std::string::npos) << shown.out;
}

TEST(ForkData, NpzFeatureCacheAsTheForkWritesIt) {
  const fs::path dir = temp_dir("npz_cache");
  Rng r(3);
  const Tensor x = random_tensor({12, 6}, r, 0.f, 1.f), y = random_tensor({12}, r, 0.f, 100.f);
  write_npz((dir / "c.npz").string(), {{"features", x}, {"scores", y}}, true);
  const data::Cache c = data::load_cache((dir / "c.npz").string());
  EXPECT_EQ(c.kind, "features");
  EXPECT_TRUE(c.keys.empty());
  EXPECT_EQ(std::memcmp(c.input.raw(), x.raw(), x.nbytes()), 0);
  write_npz((dir / "bad.npz").string(), {{"features", x}, {"labels", y}}, true);
  expect_error([&] { data::load_cache((dir / "bad.npz").string()); },
               {"bad.npz", "'scores'", "features, labels"});
  write_npz((dir / "short.npz").string(), {{"features", x}, {"scores", y.rows(0, 5)}}, true);
  expect_error([&] { data::load_cache((dir / "short.npz").string()); }, {"short.npz", "'scores'", "[12]"});
}

}  // namespace
}  // namespace tinyqat::test
