#include "data/shards.h"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file_util.h"
#include "core/rng.h"
#include "data/caches.h"
#include "io/parquet.h"
#include "io/zip.h"

namespace tinyqat::data {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

Shape row_shape_of(const Shape& s) {
  return Shape(s.begin() + 1, s.end());
}

// Tensor::rows without the copy when the range is the whole tensor.
Tensor rows_of(const Tensor& t, int64_t b, int64_t e) {
  return b == 0 && e == t.dim(0) ? t : t.rows(b, e);
}

// The parts concatenated along the first dimension (all of one dtype and row shape).
Tensor concat_rows(const std::vector<Tensor>& parts, DType dtype, const Shape& row_shape) {
  if (parts.size() == 1) return parts[0];
  int64_t n = 0;
  for (const Tensor& p : parts) n += p.dim(0);
  Shape shape{n};
  shape.insert(shape.end(), row_shape.begin(), row_shape.end());
  Tensor out = Tensor::empty(dtype, shape);
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (const Tensor& p : parts) {
    std::memcpy(dst, p.raw(), p.nbytes());
    dst += p.nbytes();
  }
  return out;
}

uint64_t shard_order_seed(uint64_t seed, uint64_t epoch) {
  return stream_seed(seed, 0x5a4d0001, epoch);
}
uint64_t row_order_seed(uint64_t seed, uint64_t epoch, int64_t shard) {
  return stream_seed(seed, 0x5a4d0002, (epoch << 32) ^ static_cast<uint64_t>(shard));
}

std::vector<int64_t> permutation(int64_t n, bool shuffle, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  if (!shuffle) return p;
  SplitMix64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng.below(static_cast<uint64_t>(i + 1))]);
  return p;
}

// The manifest's shard paths (each line a path or a glob, relative to the manifest's folder).
std::vector<std::string> manifest_paths(const std::string& manifest) {
  TQ_CHECK(fs::is_regular_file(manifest), "{}: no such manifest", manifest);
  std::ifstream in(manifest);
  TQ_CHECK(in.good(), "{}: cannot read the manifest", manifest);
  const fs::path base = fs::path(manifest).parent_path();
  std::vector<std::string> out;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t b = 0;
    while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
    line = line.substr(b);
    if (line.empty() || line[0] == '#') continue;
    const fs::path p = fs::path(line).is_absolute() ? fs::path(line) : base / line;
    if (line.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      const int rc = ::glob(p.string().c_str(), 0, nullptr, &g);
      std::vector<std::string> hits;
      if (rc == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) hits.push_back(g.gl_pathv[i]);
      ::globfree(&g);
      TQ_CHECK(!hits.empty(), "{}: line {}: the pattern '{}' matches no file", manifest, no, line);
      std::sort(hits.begin(), hits.end());
      out.insert(out.end(), hits.begin(), hits.end());
    } else {
      TQ_CHECK(fs::is_regular_file(p), "{}: line {}: no such shard '{}'", manifest, no, p.string());
      out.push_back(p.string());
    }
  }
  TQ_CHECK(!out.empty(), "{}: the manifest lists no shard", manifest);
  return out;
}

std::vector<std::string> folder_paths(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && ends_with(e.path().filename().string(), ".npz") &&
        e.path().filename().string()[0] != '.')
      out.push_back(e.path().string());
  TQ_CHECK(!out.empty(), "{}: the folder holds no .npz shard", dir);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:  1234 kB"
  return 0;
}

Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& idx) {
  Shape shape = t.shape();
  const size_t row_bytes = t.dim(0) ? t.nbytes() / static_cast<size_t>(t.dim(0)) : 0;
  shape[0] = static_cast<int64_t>(idx.size());
  Tensor out = Tensor::empty(t.dtype(), shape);
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (size_t i = 0; i < idx.size(); ++i)
    std::memcpy(dst + i * row_bytes, src + static_cast<size_t>(idx[i]) * row_bytes, row_bytes);
  return out;
}

// ---------------------------------------------------------------- writing

ShardWriteResult write_shards(const std::string& in, const std::string& dir, int64_t rows_per_shard,
                              const std::function<void(const std::string&)>& say) {
  TQ_CHECK(rows_per_shard >= 1, "--rows-per-shard {}: must be at least 1", rows_per_shard);
  TQ_CHECK(fs::is_regular_file(in), "{}: no such file", in);
  const bool pq = parquet::is_parquet_path(in);
  TQ_CHECK(pq || ends_with(in, ".npz"), "{}: data shard reads .npz, .parquet or .pq files", in);
  std::error_code ec;
  fs::create_directories(dir, ec);
  TQ_CHECK(fs::is_directory(dir), "-o {}: cannot create the folder ({})", dir, ec.message());
  NamedTensors arrays;
  NamedStrings strings;
  if (pq) {  // one array per column, as `data convert` writes them (read back at once, then removed)
    const std::string tmp = (fs::path(dir) / ".shard-source.npz").string();
    try {
      convert_to_npz(in, tmp, "columns", {});
      arrays = read_npz_with_strings(tmp, &strings);
    } catch (...) {
      fs::remove(tmp, ec);
      throw;
    }
    fs::remove(tmp, ec);
  } else {
    arrays = read_npz_with_strings(in, &strings);
  }
  TQ_CHECK(!arrays.empty() || !strings.empty(), "{}: holds no array", in);
  int64_t n = -1;
  auto rows_check = [&](const std::string& name, int64_t rows) {
    if (n < 0) n = rows;
    TQ_CHECK(rows == n, "{}: array '{}' has {} rows, the others {} (every array is split by its first axis)",
             in, name, rows, n);
  };
  for (const auto& [name, t] : arrays) {
    TQ_CHECK(t.rank() >= 1, "{}: array '{}' is a scalar: no rows to split", in, name);
    rows_check(name, t.dim(0));
  }
  for (const auto& [name, s] : strings) rows_check(name, static_cast<int64_t>(s.size()));
  TQ_CHECK(n >= 1, "{}: the arrays hold no rows", in);

  ShardWriteResult r;
  r.rows = n;
  std::string manifest;
  for (int64_t b = 0, k = 0; b < n; b += rows_per_shard, ++k) {
    const int64_t e = std::min(n, b + rows_per_shard);
    zip::Writer w(/*compress=*/false);  // stored: shards are read often, inflating costs more than disk
    for (const auto& [name, t] : arrays) {
      const std::vector<uint8_t> bytes = serialize_npy(t.rows(b, e));
      w.add(name + ".npy", bytes.data(), bytes.size());
    }
    for (const auto& [name, s] : strings) {
      const std::vector<uint8_t> bytes = serialize_npy_strings({s.begin() + b, s.begin() + e});
      w.add(name + ".npy", bytes.data(), bytes.size());
    }
    const std::string file = fmt::format("shard-{:05d}.npz", k);
    const std::string path = (fs::path(dir) / file).string();
    write_file_atomic(path, w.finish());
    r.shards.push_back(path);
    manifest += file + "\n";
  }
  r.manifest = (fs::path(dir) / "manifest.txt").string();
  write_file_atomic(r.manifest, manifest);
  // Shards of an earlier, longer run in the same folder would join a folder corpus: removed.
  for (size_t k = r.shards.size();; ++k) {
    const fs::path stale = fs::path(dir) / fmt::format("shard-{:05d}.npz", k);
    if (!fs::exists(stale)) break;
    fs::remove(stale, ec);
    if (say) say(fmt::format("removed {} (left from an earlier run)", stale.string()));
  }
  return r;
}

// ---------------------------------------------------------------- the corpus

bool is_shard_corpus(const std::string& path) {
  return fs::is_directory(path) || ends_with(path, ".txt");
}

const ShardArray& ShardCorpus::array(const std::string& name) const {
  for (const auto& a : arrays)
    if (a.name == name) return a;
  std::vector<std::string> names;
  for (const auto& a : arrays) names.push_back(a.name);
  fail("{}: the shards hold no array '{}'; they have: {}", source, name, fmt::join(names, ", "));
}

ShardCorpus open_shard_corpus(const std::string& path) {
  ShardCorpus c;
  c.source = path;
  if (fs::is_directory(path))
    c.shards = folder_paths(path);
  else
    c.shards = manifest_paths(path);
  std::vector<std::vector<double>> sum, sumsq;
  for (size_t k = 0; k < c.shards.size(); ++k) {
    const std::string& s = c.shards[k];
    TQ_CHECK(fs::is_regular_file(s), "{}: no such shard '{}'", path, s);
    NamedStrings strings;
    NamedTensors a;
    {
      const std::vector<uint8_t> bytes = read_file(s);
      a = parse_npz_with_strings(bytes.data(), bytes.size(), s, &strings);
    }
    TQ_CHECK(!a.empty(), "{}: the shard holds no numeric array", s);
    if (k == 0) {
      for (const auto& [name, t] : a) {
        TQ_CHECK(t.rank() >= 1, "{}: array '{}' is a scalar, not rows", s, name);
        c.arrays.push_back({name, t.dtype(), row_shape_of(t.shape())});
      }
      sum.resize(c.arrays.size()), sumsq.resize(c.arrays.size());
      for (size_t i = 0; i < c.arrays.size(); ++i)
        if (c.arrays[i].dtype == DType::F32) {
          const size_t e = static_cast<size_t>(checked_numel(c.arrays[i].row_shape, DType::F32));
          sum[i].assign(e, 0.0), sumsq[i].assign(e, 0.0);
        }
    }
    std::vector<std::string> names, want;
    for (const auto& [name, t] : a) names.push_back(name);
    for (const auto& x : c.arrays) want.push_back(x.name);
    TQ_CHECK(names == want, "{}: the shard holds arrays [{}], the first shard ({}) [{}]", s,
             fmt::join(names, ", "), c.shards[0], fmt::join(want, ", "));
    int64_t rows = -1;
    for (size_t i = 0; i < a.size(); ++i) {
      const Tensor& t = a[i].second;
      const ShardArray& x = c.arrays[i];
      TQ_CHECK(t.rank() >= 1 && t.dtype() == x.dtype && row_shape_of(t.shape()) == x.row_shape,
               "{}: array '{}' is {} {}, the first shard's ({}) is {} [N{}{}]", s, x.name,
               dtype_name(t.dtype()), shape_str(t.shape()), c.shards[0], dtype_name(x.dtype),
               x.row_shape.empty() ? "" : ",", fmt::join(x.row_shape, ","));
      if (rows < 0) rows = t.dim(0);
      TQ_CHECK(t.dim(0) == rows, "{}: array '{}' has {} rows, array '{}' {}", s, x.name, t.dim(0), a[0].first,
               rows);
      if (x.dtype == DType::F32) {
        const size_t e = sum[i].size();
        const float* p = t.data<float>();
        for (int64_t r = 0; r < rows; ++r)
          for (size_t j = 0; j < e; ++j) {
            const double v = p[static_cast<size_t>(r) * e + j];
            sum[i][j] += v, sumsq[i][j] += v * v;
          }
      }
    }
    TQ_CHECK(rows >= 1, "{}: the shard holds no rows", s);
    c.rows.push_back(rows);
    c.total_rows += rows;
  }
  c.mean.resize(c.arrays.size()), c.stddev.resize(c.arrays.size());
  const double n = static_cast<double>(c.total_rows);
  for (size_t i = 0; i < c.arrays.size(); ++i)
    for (size_t j = 0; j < sum[i].size(); ++j) {
      const double m = sum[i][j] / n;
      c.mean[i].push_back(m);
      c.stddev[i].push_back(std::sqrt(std::max(0.0, sumsq[i][j] / n - m * m)));
    }
  return c;
}

// ---------------------------------------------------------------- the loader

std::vector<std::pair<int64_t, int64_t>> epoch_order(const ShardCorpus& c, const LoaderOptions& o) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t s :
       permutation(static_cast<int64_t>(c.shards.size()), o.shuffle, shard_order_seed(o.seed, o.epoch)))
    for (int64_t r :
         permutation(c.rows[static_cast<size_t>(s)], o.shuffle, row_order_seed(o.seed, o.epoch, s)))
      out.emplace_back(s, r);
  return out;
}

ShardLoader::ShardLoader(const ShardCorpus& corpus, LoaderOptions opt) : c_(corpus), o_(std::move(opt)) {
  TQ_CHECK(
      o_.batch_size >= 1 && o_.prefetch >= 1 && o_.world_size >= 1 && o_.rank >= 0 && o_.rank < o_.world_size,
      "{}: bad loader options (batch {}, prefetch {}, rank {} of {})", c_.source, o_.batch_size, o_.prefetch,
      o_.rank, o_.world_size);
  if (o_.arrays.empty())
    for (const auto& a : c_.arrays) o_.arrays.push_back(a.name);
  for (const auto& name : o_.arrays) c_.array(name);  // Error naming the corpus when absent
  shard_order_ =
      permutation(static_cast<int64_t>(c_.shards.size()), o_.shuffle, shard_order_seed(o_.seed, o_.epoch));
  thread_ = std::thread([this] { read_all(); });
}

ShardLoader::~ShardLoader() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ShardLoader::read_all() {
  try {
    for (int64_t s : shard_order_) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || static_cast<int>(queue_.size()) < o_.prefetch; });
        if (stop_) return;
      }
      const std::string& path = c_.shards[static_cast<size_t>(s)];
      const int64_t rows = c_.rows[static_cast<size_t>(s)];
      NamedTensors a;
      {
        std::vector<std::string> skipped;
        const std::vector<uint8_t> bytes = read_file(path);
        a = parse_npz_only(bytes.data(), bytes.size(), path, o_.arrays, &skipped);
      }
      const std::vector<int64_t> perm = permutation(rows, o_.shuffle, row_order_seed(o_.seed, o_.epoch, s));
      Loaded l;
      l.rows = rows;
      for (const auto& name : o_.arrays) {
        const ShardArray& x = c_.array(name);
        auto it = std::find_if(a.begin(), a.end(), [&](const auto& kv) { return kv.first == name; });
        TQ_CHECK(it != a.end(), "{}: no array '{}' (the shard changed since the corpus was opened)", path,
                 name);
        TQ_CHECK(it->second.rank() >= 1 && it->second.dim(0) == rows && it->second.dtype() == x.dtype &&
                     row_shape_of(it->second.shape()) == x.row_shape,
                 "{}: array '{}' is {} {}, not what the corpus was opened with (the shard changed)", path,
                 name, dtype_name(it->second.dtype()), shape_str(it->second.shape()));
        l.arrays.emplace_back(name, o_.shuffle ? gather_rows(it->second, perm) : it->second);
        it->second = Tensor();  // the unpermuted copy goes now
      }
      {
        std::lock_guard<std::mutex> g(mu_);
        queue_.push_back(std::move(l));
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> g(mu_);
    error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    done_ = true;
  }
  cv_.notify_all();
}

bool ShardLoader::next(NamedTensors* out, int64_t* global_rows) {
  const int64_t n = std::min(o_.batch_size, c_.total_rows - consumed_);
  if (n <= 0) return false;
  const int64_t lo = n * o_.rank / o_.world_size, hi = n * (o_.rank + 1) / o_.world_size;
  std::vector<std::vector<Tensor>> parts(o_.arrays.size());
  for (int64_t off = 0; off < n;) {
    if (cur_pos_ == cur_.rows) {
      cur_ = Loaded();  // released before waiting for the next shard
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !queue_.empty() || done_; });
      if (queue_.empty()) {
        if (error_) std::rethrow_exception(error_);
        fail("{}: the shards ended before the corpus's {} rows", c_.source, c_.total_rows);
      }
      cur_ = std::move(queue_.front());
      queue_.pop_front();
      cur_pos_ = 0;
      l.unlock();
      cv_.notify_all();
    }
    const int64_t take = std::min(n - off, cur_.rows - cur_pos_);
    const int64_t a = std::max(off, lo), b = std::min(off + take, hi);
    if (a < b)
      for (size_t i = 0; i < parts.size(); ++i)
        parts[i].push_back(rows_of(cur_.arrays[i].second, cur_pos_ + a - off, cur_pos_ + b - off));
    cur_pos_ += take;
    off += take;
  }
  out->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    const ShardArray& x = c_.array(o_.arrays[i]);
    if (parts[i].empty()) {
      Shape shape{0};
      shape.insert(shape.end(), x.row_shape.begin(), x.row_shape.end());
      out->emplace_back(x.name, Tensor::empty(x.dtype, shape));
    } else {
      out->emplace_back(x.name, concat_rows(parts[i], x.dtype, x.row_shape));
    }
  }
  consumed_ += n;
  if (global_rows) *global_rows = n;
  return true;
}

}  // namespace tinyqat::data
