// Sharded corpora (data/shards.h): `tinyqat data shard`, manifests and folders, the streaming loader's
// order (every row once per epoch, deterministic, ranks follow the 1-rank order) and its flat memory.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <regex>

#include "core/error.h"
#include "core/file_util.h"
#include "data/shards.h"
#include "support/test_support.h"

namespace tinyqat::test {
namespace {

// A training set of n rows: "x" [n,3] (row i holds i, i+0.5, -i), "y" [n] (2i), "id" int64 [n] (i).
NamedTensors rows_set(int64_t n) {
  std::vector<float> x, y;
  std::vector<int64_t> id;
  for (int64_t i = 0; i < n; ++i) {
    x.insert(x.end(), {static_cast<float>(i), static_cast<float>(i) + 0.5f, -static_cast<float>(i)});
    y.push_back(2.f * static_cast<float>(i));
    id.push_back(i);
  }
  return {
      {"x", Tensor::from_f32({n, 3}, x)}, {"y", Tensor::from_f32({n}, y)}, {"id", Tensor::from_i64({n}, id)}};
}

std::vector<int64_t> ids_of(const Tensor& t) {
  return t.to_i64();
}

fs::path sharded(const std::string& name, int64_t n, int64_t per) {
  fs::path d = temp_dir(name);
  write_npz((d / "set.npz").string(), rows_set(n), false);
  CliResult r = cli(fmt::format("data shard {} -o {} --rows-per-shard {}", (d / "set.npz").string(),
                                (d / "shards").string(), per),
                    d);
  EXPECT_EQ(r.code, 0) << r.err;
  return d / "shards";
}

TEST(DataShard, SplitsEveryArrayAlikeAndWritesTheManifest) {
  const fs::path s = sharded("shard_split", 10, 4);
  EXPECT_EQ(text_of(s / "manifest.txt"), "shard-00000.npz\nshard-00001.npz\nshard-00002.npz\n");
  std::vector<int64_t> ids;
  std::vector<int64_t> sizes;
  for (int k = 0; k < 3; ++k) {
    NamedTensors a = read_npz((s / fmt::format("shard-{:05d}.npz", k)).string());
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(a[0].first, "x");
    sizes.push_back(a[0].second.dim(0));
    EXPECT_EQ(a[1].second.dim(0), a[0].second.dim(0));
    for (int64_t r = 0; r < a[0].second.dim(0); ++r) {  // rows stay together across arrays
      const int64_t i = a[2].second.to_i64()[static_cast<size_t>(r)];
      EXPECT_EQ(a[0].second.data<float>()[r * 3 + 1], static_cast<float>(i) + 0.5f);
      EXPECT_EQ(a[1].second.data<float>()[r], 2.f * static_cast<float>(i));
      ids.push_back(i);
    }
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
  EXPECT_EQ(ids, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // The folder and the manifest describe the same corpus; the statistics are over every row.
  for (const fs::path& p : {s, s / "manifest.txt"}) {
    const data::ShardCorpus c = data::open_shard_corpus(p.string());
    EXPECT_EQ(c.total_rows, 10);
    EXPECT_EQ(c.shards.size(), 3u);
    ASSERT_EQ(c.mean[0].size(), 3u);
    EXPECT_NEAR(c.mean[0][0], 4.5, 1e-12);
    EXPECT_NEAR(c.stddev[0][0], std::sqrt(8.25), 1e-9);  // population std of 0..9
    EXPECT_NEAR(c.mean[1][0], 9.0, 1e-12);
    EXPECT_TRUE(c.mean[2].empty());  // int64: no statistics
  }
  // Re-sharding into the same folder with fewer shards leaves no stale shard behind.
  CliResult r = cli(fmt::format("data shard {} -o {} --rows-per-shard 6",
                                (s.parent_path() / "set.npz").string(), s.string()),
                    s.parent_path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(s / "shard-00002.npz"));
  EXPECT_EQ(data::open_shard_corpus(s.string()).shards.size(), 2u);
}

TEST(DataShard, BadInputExitsTwoNamingTheFile) {
  fs::path d = temp_dir("shard_bad_input");
  write_npz((d / "ragged.npz").string(),
            {{"x", Tensor::from_f32({3, 1}, {1, 2, 3})}, {"y", Tensor::from_f32({2}, {1, 2})}}, false);
  CliResult r = cli(fmt::format("data shard {} -o {}", (d / "ragged.npz").string(), (d / "o").string()), d);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("ragged.npz"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d / "o" / "manifest.txt"));
  r = cli(fmt::format("data shard {} -o {}", (d / "missing.npz").string(), (d / "o").string()), d);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing.npz"), std::string::npos) << r.err;
  r = cli("data shard --help", d);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE((r.out + r.err).find("4096"), std::string::npos);  // the default rows per shard
}

TEST(DataShard, BadCorporaExitTwoNamingTheFile) {
  const fs::path s = sharded("shard_bad_corpora", 10, 4);
  const fs::path d = s.parent_path();
  auto show = [&](const fs::path& p) { return cli("data show " + p.string(), d); };
  CliResult ok = show(s / "manifest.txt");
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("10 rows"), std::string::npos) << ok.out;

  write_file_atomic((d / "missing.txt").string(), std::string("shards/shard-00000.npz\nshards/nope.npz\n"));
  CliResult r = show(d / "missing.txt");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nope.npz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing.txt"), std::string::npos) << r.err;

  write_file_atomic((d / "glob.txt").string(),
                    std::string("# all of them\nshards/shard-*.npz\nshards/x-*.npz\n"));
  r = show(d / "glob.txt");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("x-*.npz"), std::string::npos) << r.err;
  write_file_atomic((d / "glob2.txt").string(), std::string("# all of them\n\nshards/shard-*.npz\n"));
  EXPECT_EQ(data::open_shard_corpus((d / "glob2.txt").string()).total_rows, 10);

  fs::create_directories(d / "empty");
  r = show(d / "empty");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;

  fs::create_directories(d / "mixed");
  fs::copy_file(s / "shard-00000.npz", d / "mixed" / "a.npz");
  write_npz((d / "mixed" / "b.npz").string(), {{"x", Tensor::from_f32({2, 2}, {1, 2, 3, 4})}}, false);
  r = show(d / "mixed");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("b.npz"), std::string::npos) << r.err;

  NamedTensors other = rows_set(2);
  other[0].second = Tensor::from_f32({2, 2}, {1, 2, 3, 4});  // same names, another row shape
  write_npz((d / "mixed" / "b.npz").string(), other, false);
  r = show(d / "mixed");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("b.npz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'x'"), std::string::npos) << r.err;
}

// One epoch's ids, batch by batch, for `rank` of `world`.
std::vector<std::vector<int64_t>> epoch_ids(const data::ShardCorpus& c, uint64_t seed, uint64_t epoch,
                                            int64_t batch, int rank = 0, int world = 1) {
  data::LoaderOptions o;
  o.arrays = {"id", "x"};
  o.batch_size = batch, o.seed = seed, o.epoch = epoch, o.rank = rank, o.world_size = world;
  o.prefetch = 2;
  data::ShardLoader l(c, o);
  std::vector<std::vector<int64_t>> out;
  NamedTensors b;
  int64_t global = 0;
  while (l.next(&b, &global)) {
    EXPECT_EQ(b[0].first, "id");
    EXPECT_EQ(b[1].second.dim(0), b[0].second.dim(0));
    for (int64_t r = 0; r < b[0].second.dim(0); ++r)  // x stays with its id
      EXPECT_EQ(b[1].second.data<float>()[r * 3], static_cast<float>(ids_of(b[0].second)[r]));
    out.push_back(ids_of(b[0].second));
  }
  return out;
}

TEST(DataShardLoader, EveryRowOncePerEpochInTheDocumentedOrder) {
  const fs::path s = sharded("shard_loader_order", 53, 8);  // 7 shards, the last of 5 rows
  const data::ShardCorpus c = data::open_shard_corpus((s / "manifest.txt").string());
  std::vector<std::vector<int64_t>> seen;
  for (uint64_t epoch : {0, 1}) {
    auto batches = epoch_ids(c, 7, epoch, 10);
    ASSERT_EQ(batches.size(), 6u);
    EXPECT_EQ(batches.back().size(), 3u);
    std::vector<int64_t> flat;
    for (auto& b : batches) flat.insert(flat.end(), b.begin(), b.end());
    std::vector<int64_t> sorted = flat;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 53; ++i) ASSERT_EQ(sorted[static_cast<size_t>(i)], i);  // every row once
    // The order is epoch_order's: shards one after another, each shard's rows permuted.
    data::LoaderOptions o;
    o.seed = 7, o.epoch = epoch;
    const auto order = data::epoch_order(c, o);
    for (size_t i = 0; i < flat.size(); ++i) {
      EXPECT_EQ(flat[i] / 8, order[i].first);
      EXPECT_EQ(flat[i] % 8, order[i].second);
    }
    EXPECT_EQ(flat, [&] {  // deterministic: the same seed and epoch give the same stream
      std::vector<int64_t> again;
      for (auto& b : epoch_ids(c, 7, epoch, 10)) again.insert(again.end(), b.begin(), b.end());
      return again;
    }());
    seen.push_back(flat);
  }
  EXPECT_NE(seen[0], seen[1]);  // another epoch, another order
  std::vector<int64_t> first_shards;
  for (size_t i = 0; i < seen[0].size(); i += 8) first_shards.push_back(seen[0][i] / 8);
  EXPECT_NE(first_shards, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));  // the shard order is shuffled
  // Unshuffled: the corpus order.
  data::LoaderOptions o;
  o.shuffle = false, o.batch_size = 53, o.arrays = {"id"};
  data::ShardLoader l(c, o);
  NamedTensors b;
  ASSERT_TRUE(l.next(&b));
  for (int64_t i = 0; i < 53; ++i) EXPECT_EQ(ids_of(b[0].second)[static_cast<size_t>(i)], i);
  EXPECT_FALSE(l.next(&b));
}

TEST(DataShardLoader, RanksTakeTheirShareOfTheOneRankOrder) {
  const fs::path s = sharded("shard_loader_ranks", 41, 6);
  const data::ShardCorpus c = data::open_shard_corpus(s.string());
  const auto one = epoch_ids(c, 3, 2, 9);
  for (int world : {2, 3}) {
    std::vector<std::vector<std::vector<int64_t>>> parts;
    for (int r = 0; r < world; ++r) parts.push_back(epoch_ids(c, 3, 2, 9, r, world));
    for (size_t k = 0; k < one.size(); ++k) {
      std::vector<int64_t> joined;
      for (int r = 0; r < world; ++r) {
        ASSERT_EQ(parts[static_cast<size_t>(r)].size(), one.size());
        const auto& p = parts[static_cast<size_t>(r)][k];
        const int64_t n = static_cast<int64_t>(one[k].size());
        EXPECT_EQ(static_cast<int64_t>(p.size()),
                  n * (r + 1) / world - n * r / world);  // the trainer's share
        joined.insert(joined.end(), p.begin(), p.end());
      }
      EXPECT_EQ(joined, one[k]) << "batch " << k << ", " << world << " ranks";
    }
  }
}

TEST(DataShardLoader, ReaderErrorsReachTheConsumer) {
  const fs::path s = sharded("shard_loader_error", 20, 5);
  const data::ShardCorpus c = data::open_shard_corpus(s.string());
  write_file_atomic((s / "shard-00002.npz").string(), std::string("not a zip"));
  data::LoaderOptions o;
  o.shuffle = false, o.batch_size = 4;
  data::ShardLoader l(c, o);
  NamedTensors b;
  try {
    while (l.next(&b)) {
    }
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shard-00002.npz"), std::string::npos) << e.what();
  }
}

// Peak RSS of `tinyqat data stream` over a corpus of `shards` shards of 1 MiB each (64 rows of 4096 floats).
double stream_peak_mib(const fs::path& d, int shards) {
  const fs::path dir = d / fmt::format("c{}", shards);
  fs::create_directories(dir);
  std::string manifest;
  for (int k = 0; k < shards; ++k) {
    std::vector<float> v(64 * 4096);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 2654435761u + k) % 1000) / 1000.f;
    std::vector<float> y(64, static_cast<float>(k));
    write_npz((dir / fmt::format("s{:03d}.npz", k)).string(),
              {{"x", Tensor::from_f32({64, 4096}, v)}, {"y", Tensor::from_f32({64}, y)}}, false);
    manifest += fmt::format("s{:03d}.npz\n", k);
  }
  write_file_atomic((dir / "manifest.txt").string(), manifest);
  CliResult r =
      cli(fmt::format("data stream {} --batch-size 48 --prefetch 2", (dir / "manifest.txt").string()), d);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(fmt::format("{} rows in", 64 * shards)), std::string::npos) << r.out;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.out, m, std::regex("peak RSS ([0-9.]+) MiB"))) << r.out;
  fs::remove_all(dir);
  return m.size() > 1 ? std::stod(m[1].str()) : 0;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TQ_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TQ_TEST_UNDER_ASAN 1
#endif

TEST(DataShardLoader, PeakMemoryDoesNotGrowWithTheCorpus) {
#ifdef TQ_TEST_UNDER_ASAN
  GTEST_SKIP() << "peak RSS under AddressSanitizer counts its quarantine of freed blocks";
#endif
  const fs::path d = temp_dir("shard_loader_memory");
  const double one = stream_peak_mib(d, 8), eight = stream_peak_mib(d, 64);  // 8 MiB vs 64 MiB of rows
  std::printf("peak RSS streaming 8 MiB: %.1f MiB, 64 MiB: %.1f MiB\n", one, eight);
  ASSERT_GT(one, 0);
  EXPECT_LT(eight, one * 1.25) << "8x the data: " << eight << " MiB vs " << one << " MiB";
}

}  // namespace
}  // namespace tinyqat::test
