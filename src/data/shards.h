// Sharded corpora: a training set split by rows into .npz shards (`tinyqat data shard`), described by a
// folder of shards or a text manifest, and streamed by a background loader that never holds the corpus
// whole (docs/training.md, "Corpora streamed from shards").
//
// Order of an epoch: the shard order is shuffled (seed, epoch), then the rows within each shard (seed,
// epoch, shard); the epoch's sample stream is those shards' rows one after another. Global batches of
// `batch_size` rows are cut from that stream (they may span two shards); with several ranks each rank
// takes the contiguous share [n·r/w, n·(r+1)/w) of every global batch — the data-parallel trainer's rule —
// so N ranks follow the 1-rank sample order. Every rank reads every shard and keeps only its rows.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/npy.h"

namespace tinyqat::data {

// ---- tinyqat data shard -------------------------------------------------------------------------------

struct ShardWriteResult {
  std::vector<std::string> shards;  // paths written, in order
  std::string manifest;             // DIR/manifest.txt
  int64_t rows = 0;
};
// Splits IN (.npz, or .parquet/.pq read as one array per column) by rows into DIR/shard-00000.npz, ...
// (every array split alike: the first dimension is the row) and writes DIR/manifest.txt (one shard file
// name per line). Every file is written atomically; the manifest last. Error: unreadable input, arrays
// with different row counts, no rows, rows_per_shard < 1.
ShardWriteResult write_shards(const std::string& in, const std::string& dir, int64_t rows_per_shard,
                              const std::function<void(const std::string&)>& say = {});

// ---- a corpus of shards -------------------------------------------------------------------------------

// A folder (of .npz files) or a .txt manifest: what makes data.train a sharded corpus.
bool is_shard_corpus(const std::string& path);

struct ShardArray {
  std::string name;
  DType dtype = DType::F32;
  Shape row_shape;  // the shape of one row (the array's shape without its first dimension)
};

struct ShardCorpus {
  std::string source;               // the folder or manifest, for messages
  std::vector<std::string> shards;  // shard paths, in manifest (or sorted file name) order
  std::vector<int64_t> rows;        // rows per shard
  std::vector<ShardArray> arrays;   // the numeric arrays every shard holds, in the first shard's order
  int64_t total_rows = 0;
  // Per float32 array: the mean and population standard deviation of every element of a row over all
  // rows (shape row_shape), accumulated in double in the opening pass.
  std::vector<std::vector<double>> mean, stddev;
  const ShardArray& array(const std::string& name) const;  // Error naming the corpus when absent
};

// Reads the manifest (one shard path or glob per line, relative to the manifest's folder; blank lines and
// `#` comments skipped) or lists the folder's *.npz (sorted by name), then reads every shard once, one at
// a time: the same numeric array names, dtypes and row shapes in every shard, one row count per shard.
// Error naming the file: a missing shard, a glob that matches nothing, an empty folder or manifest, a
// shard whose arrays differ from the first shard's.
ShardCorpus open_shard_corpus(const std::string& path);

struct LoaderOptions {
  std::vector<std::string> arrays;  // the arrays to load, in this order (empty: all numeric arrays)
  int64_t batch_size = 32;
  uint64_t seed = 0;
  uint64_t epoch = 0;
  bool shuffle = true;  // false: shards and rows in corpus order
  int prefetch = 2;     // shards read ahead of the one being consumed (≥ 1)
  int rank = 0, world_size = 1;
};

// The epoch's sample order as (shard, row within shard) pairs: what the loader yields, in order.
std::vector<std::pair<int64_t, int64_t>> epoch_order(const ShardCorpus& c, const LoaderOptions& o);

// Streams one epoch. A background thread reads shards in the epoch's order into a queue of at most
// `prefetch` shards (each already permuted); next() cuts global batches from it. Errors in the reader
// thread are rethrown by next().
class ShardLoader {
 public:
  ShardLoader(const ShardCorpus& corpus, LoaderOptions opt);
  ~ShardLoader();
  ShardLoader(const ShardLoader&) = delete;
  ShardLoader& operator=(const ShardLoader&) = delete;

  // This rank's share of the next global batch (arrays in opt.arrays order; a share may hold 0 rows)
  // and the global batch's size in *global_rows; false at the end of the epoch.
  bool next(NamedTensors* out, int64_t* global_rows = nullptr);

 private:
  struct Loaded {
    NamedTensors arrays;  // permuted rows
    int64_t rows = 0;
  };
  void read_all();

  const ShardCorpus& c_;
  LoaderOptions o_;
  std::vector<int64_t> shard_order_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Loaded> queue_;
  std::exception_ptr error_;
  bool done_ = false, stop_ = false;
  Loaded cur_;
  int64_t cur_pos_ = 0, consumed_ = 0;
  std::thread thread_;
};

// The process's peak resident set (VmHWM of /proc/self/status), bytes; 0 where unknown.
int64_t peak_rss_bytes();

// Rows `idx` of `t` (along the first dimension), copied.
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& idx);

}  // namespace tinyqat::data
