#include "train/trainer.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "core/model_paths.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "core/version.h"
#include "data/caches.h"
#include "data/shards.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"
#include "quant/metrics.h"
#include "quant/plan.h"
#include "quant/sample_runner.h"
#include "train/distributed.h"
#include "train/resume.h"
#include "train/trainable.h"

namespace tinyqat::train {

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- data

struct Split {
  torch::Tensor x, y;  // y: labels or teacher outputs (undefined until set for distill)
  // A sharded corpus (data/shards.h) streamed instead of x / y: its first stream_rows rows per epoch.
  std::shared_ptr<const data::ShardCorpus> stream;
  std::string x_name, y_name;
  int64_t stream_rows = 0;
  int64_t size() const { return stream ? stream_rows : x.defined() ? x.size(0) : 0; }
};

struct DataSet {
  Split train, val, test;
  bool by_key = false;
};

// The training arrays before the split, wherever they come from: data.train (.npz by array name), the
// fork's cache: (data/caches.h), the in-memory arrays of the quantize ladder, or synthetic samples for
// --smoke without the cache (as the fork's QAT driver does).
struct Source {
  std::string file, x_name, y_name;                 // for messages
  Tensor x, y;                                      // y undefined with loss distill
  std::vector<std::string> keys;                    // the cache's row keys (empty: none)
  bool synthetic = false;                           // to be made from the model's shapes (begin())
  std::shared_ptr<const data::ShardCorpus> corpus;  // data.train is a sharded corpus: x / y stay empty
};

const Tensor& find_array(const NamedTensors& arrays, const std::string& name, const std::string& file,
                         const std::string& key) {
  for (const auto& [n, t] : arrays)
    if (n == name) return t;
  std::vector<std::string> names;
  for (const auto& [n, t] : arrays) names.push_back(n);
  fail("{}: no array '{}' ({} in the config); the file has: {}", file, name, key, fmt::join(names, ", "));
}

Source read_source(const TrainConfig& cfg, bool smoke, const NamedTensors* given,
                   const std::function<void(const std::string&)>& say) {
  Source s;
  if (!cfg.cache.empty() && !given) {
    if (!std::filesystem::is_regular_file(cfg.cache)) {
      TQ_CHECK(smoke,
               "{}: cache: no such file '{}' (relative paths resolve against the working directory, {}); "
               "--smoke trains on synthetic data instead",
               cfg.path, cfg.cache, std::filesystem::current_path().string());
      say(fmt::format("cache {} not found: --smoke trains on synthetic samples", cfg.cache));
      s.synthetic = true;
      s.file = "(synthetic)";
      s.x_name = "input", s.y_name = "target";
      return s;
    }
    data::Cache c = data::load_cache(cfg.cache, say);
    s.file = cfg.cache;
    s.x_name = c.input_name, s.y_name = c.target_name;
    s.x = c.input, s.y = c.target, s.keys = std::move(c.keys);
    say(fmt::format("cache {}: a {} cache, {} rows{}{}", cfg.cache, c.kind, s.x.dim(0),
                    c.columns.empty() ? "" : fmt::format(", features {}", fmt::join(c.columns, ",")),
                    s.keys.empty() ? ", no key column" : ", split by key"));
    return s;
  }
  NamedTensors arrays;
  if (!given && data::is_shard_corpus(cfg.train_data)) {  // streamed: one pass checks it, counts its rows
    s.file = cfg.train_data;
    s.x_name = cfg.input_array, s.y_name = cfg.target_array;
    auto c = std::make_shared<data::ShardCorpus>(data::open_shard_corpus(cfg.train_data));
    c->array(cfg.input_array);
    if (cfg.loss != "distill") c->array(cfg.target_array);
    say(fmt::format("data.train {}: a sharded corpus, {} shards, {} rows (streamed)", cfg.train_data,
                    c->shards.size(), c->total_rows));
    s.corpus = std::move(c);
    return s;
  }
  if (!given) {
    TQ_CHECK(std::filesystem::is_regular_file(cfg.train_data), "{}: data.train: no such file '{}'", cfg.path,
             cfg.train_data);
    arrays = read_npz(cfg.train_data);
  } else {
    arrays = *given;
  }
  s.file = cfg.train_data;
  s.x_name = cfg.input_array, s.y_name = cfg.target_array;
  s.x = find_array(arrays, cfg.input_array, cfg.train_data, "data.input");
  if (cfg.loss != "distill") s.y = find_array(arrays, cfg.target_array, cfg.train_data, "data.target");
  return s;
}

void check_finite(const torch::Tensor& t, const std::string& file, const std::string& name) {
  TQ_CHECK(torch::isfinite(t).all().item<bool>(), "{}: array '{}' holds NaN or Inf", file, name);
}

// A sharded corpus: whole shards are held out, val then test, by a seeded permutation of the shards
// (round(val_frac · shards) and round(test_frac · shards) of them, read into memory); the other shards are
// the training split, streamed every epoch (docs/training.md, "Corpora streamed from shards").
DataSet load_streamed(const TrainConfig& cfg, const ValueInfo& input, bool smoke, const Source& src,
                      const std::function<void(const std::string&)>& say) {
  const data::ShardCorpus& c = *src.corpus;
  TQ_CHECK(cfg.loss != "distill",
           "{}: loss distill needs the training inputs in memory; data.train '{}' is a sharded corpus",
           cfg.path, src.file);
  const data::ShardArray &xa = c.array(src.x_name), &ya = c.array(src.y_name);
  TQ_CHECK(xa.dtype == DType::F32, "{}: array '{}' is {}, the model input '{}' is float32", src.file,
           src.x_name, dtype_name(xa.dtype), input.name);
  bool fits = input.has_shape && xa.row_shape.size() + 1 == input.shape.size();
  for (size_t d = 1; fits && d < input.shape.size(); ++d)
    fits = !input.shape[d].is_known() || input.shape[d].value == xa.row_shape[d - 1];
  TQ_CHECK(fits, "{}: array '{}' has rows of shape {}, which do not fit the model input '{}' {}", src.file,
           src.x_name, shape_str(xa.row_shape), input.name, input.shape_str());
  TQ_CHECK(ya.dtype == DType::F32, "{}: array '{}' must be float32, it is {}", src.file, src.y_name,
           dtype_name(ya.dtype));
  const int64_t n = static_cast<int64_t>(c.shards.size());
  const int64_t nv = std::llround(cfg.val_frac * static_cast<double>(n)),
                nt = std::llround(cfg.test_frac * static_cast<double>(n));
  TQ_CHECK(n - nv - nt >= 1,
           "{}: holding out {} validation and {} test shards (val_frac {}, test_frac {}) leaves no training "
           "shard of {}",
           cfg.path, nv, nt, cfg.val_frac, cfg.test_frac, n);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
  SplitMix64 rng(stream_seed(cfg.seed, 0x5a4d0003, 0));
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(static_cast<uint64_t>(i + 1))]);
  auto held = [&](int64_t from, int64_t count) {
    Split s;
    if (count == 0) return s;
    std::vector<int64_t> ks(perm.begin() + from, perm.begin() + from + count);
    std::sort(ks.begin(), ks.end());
    std::vector<torch::Tensor> xs, ys;
    for (int64_t k : ks) {
      const std::string& f = c.shards[static_cast<size_t>(k)];
      NamedTensors a = read_npz(f);
      xs.push_back(to_torch(find_array(a, src.x_name, f, "data.input")).clone());
      ys.push_back(to_torch(find_array(a, src.y_name, f, "data.target")).clone());
    }
    s.x = torch::cat(xs, 0), s.y = torch::cat(ys, 0);
    check_finite(s.x, c.source, src.x_name), check_finite(s.y, c.source, src.y_name);
    return s;
  };
  DataSet d{{}, held(0, nv), held(nv, nt), false};
  auto train = std::make_shared<data::ShardCorpus>(c);
  train->shards.clear(), train->rows.clear(), train->total_rows = 0;
  for (int64_t k = 0; k < n; ++k)
    if (std::find(perm.begin() + nv + nt, perm.end(), k) != perm.end()) {
      train->shards.push_back(c.shards[static_cast<size_t>(k)]);
      train->rows.push_back(c.rows[static_cast<size_t>(k)]);
      train->total_rows += c.rows[static_cast<size_t>(k)];
    }
  d.train.stream = train;
  d.train.x_name = src.x_name, d.train.y_name = src.y_name;
  d.train.stream_rows = smoke ? std::min<int64_t>(train->total_rows, 2 * cfg.batch_size) : train->total_rows;
  for (Split* s : {&d.val, &d.test})
    if (smoke && s->size() > cfg.batch_size) {
      s->x = s->x.slice(0, 0, cfg.batch_size);
      s->y = s->y.slice(0, 0, cfg.batch_size);
    }
  say(fmt::format("split by shard: {} training shards ({} rows, streamed), {} validation, {} test",
                  n - nv - nt, train->total_rows, nv, nt));
  return d;
}

// The first n training rows in corpus order (calibration).
torch::Tensor first_inputs(const Split& s, int64_t n) {
  if (!s.stream) return s.x.slice(0, 0, n);
  data::LoaderOptions o;
  o.arrays = {s.x_name}, o.batch_size = std::max<int64_t>(n, 1), o.shuffle = false;
  data::ShardLoader l(*s.stream, o);
  NamedTensors b;
  TQ_CHECK(l.next(&b), "{}: no rows", s.stream->source);
  return to_torch(b[0].second).clone();
}

// Checks the arrays against the model input and splits them: by the cache's keys (the fork's rule) when
// it has them, else by a seeded permutation (data/caches.h).
DataSet load_data(const TrainConfig& cfg, const ValueInfo& input, bool smoke, const Source& src,
                  const std::function<void(const std::string&)>& say) {
  if (src.corpus) return load_streamed(cfg, input, smoke, src, say);
  const Tensor& xin = src.x;
  TQ_CHECK(xin.dtype() == DType::F32, "{}: array '{}' is {}, the model input '{}' is float32", src.file,
           src.x_name, dtype_name(xin.dtype()), input.name);
  auto mismatch = [&] {
    fail(
        "{}: array '{}' has shape {}, which does not fit the model input '{}' {} (samples stacked on axis 0)",
        src.file, src.x_name, shape_str(xin.shape()), input.name, input.shape_str());
  };
  if (!input.has_shape || static_cast<size_t>(xin.rank()) != input.shape.size()) mismatch();
  for (size_t d = 1; d < input.shape.size(); ++d)
    if (input.shape[d].is_known() && input.shape[d].value != xin.dim(static_cast<int>(d))) mismatch();
  const auto& want = cfg.qat.input_shape;
  if (!want.empty()) {
    bool ok = want.size() == static_cast<size_t>(xin.rank());
    for (size_t d = 1; ok && d < want.size(); ++d)
      ok = want[d] <= 0 || want[d] == xin.dim(static_cast<int>(d));
    if (!ok && !cfg.cache.empty() && !src.synthetic)
      say(fmt::format(
          "note: qat.input_shape [{}] differs from the cache's samples {}: the fork traces its export "
          "with it; tinyqat trains and exports on the cache's shape",
          fmt::join(want, ","), shape_str(xin.shape())));
    else
      TQ_CHECK(ok, "{}: qat.input_shape [{}] does not match the data: array '{}' in {} has shape {}",
               cfg.path, fmt::join(want, ","), src.x_name, src.file, shape_str(xin.shape()));
  }
  const int64_t n = xin.dim(0);
  TQ_CHECK(n >= 1, "{}: array '{}' holds no samples", src.file, src.x_name);
  for (int64_t i = 0; i < xin.numel(); ++i)
    TQ_CHECK(std::isfinite(xin.data<float>()[i]), "{}: array '{}' holds NaN or Inf (element {})", src.file,
             src.x_name, i);
  torch::Tensor x = to_torch(xin), y;
  if (cfg.loss != "distill") {
    const Tensor& t = src.y;
    TQ_CHECK(t.dtype() == DType::F32 && t.rank() >= 1 && t.dim(0) == n,
             "{}: array '{}' must be float32 with {} samples on axis 0 (one per input), it is {} {}",
             src.file, src.y_name, n, dtype_name(t.dtype()), shape_str(t.shape()));
    for (int64_t i = 0; i < t.numel(); ++i)
      TQ_CHECK(std::isfinite(t.data<float>()[i]), "{}: array '{}' holds NaN or Inf (element {})", src.file,
               src.y_name, i);
    y = to_torch(t);
  }
  TQ_CHECK(src.keys.empty() || static_cast<int64_t>(src.keys.size()) == n, "{}: {} keys for {} rows",
           src.file, src.keys.size(), n);
  data::SplitIndices idx;
  try {
    idx = data::split_rows(src.keys, n, cfg.val_frac, cfg.test_frac, cfg.seed);
  } catch (const Error& e) {
    fail("{}: {}", cfg.path, e.what());
  }
  auto take = [&](const std::vector<int64_t>& rows) {
    Split s;
    if (rows.empty()) return s;
    auto t = torch::tensor(rows, torch::kInt64);
    s.x = x.index_select(0, t);
    if (y.defined()) s.y = y.index_select(0, t);
    return s;
  };
  DataSet d{take(idx.train), take(idx.val), take(idx.test), idx.by_key};
  TQ_CHECK(d.train.size() > 0,
           "{}: the split leaves no training samples (val_frac {}, test_frac {}, {} rows)", cfg.path,
           cfg.val_frac, cfg.test_frac, n);
  if (smoke) {
    const int64_t keep = std::min<int64_t>(d.train.size(), 2 * cfg.batch_size);
    d.train.x = d.train.x.slice(0, 0, keep);
    if (d.train.y.defined()) d.train.y = d.train.y.slice(0, 0, keep);
    for (Split* s : {&d.val, &d.test})
      if (s->size() > cfg.batch_size) {
        s->x = s->x.slice(0, 0, cfg.batch_size);
        if (s->y.defined()) s->y = s->y.slice(0, 0, cfg.batch_size);
      }
  }
  return d;
}

// --smoke without the cache: uniform samples in [0, 1) of the model's input shape (its unknown dimensions
// from qat.input_shape, else 32 as the fork's driver traces), targets shaped like the model's output.
Source synthetic_source(const TrainConfig& cfg, TrainableModel& m) {
  const ValueInfo& in = m.inputs()[0];
  TQ_CHECK(in.has_shape, "--smoke without the cache: the model input '{}' has no shape to make samples of",
           in.name);
  const int64_t n = std::clamp<int64_t>(4 * cfg.batch_size, 16, 256);
  Shape shape{n};
  for (size_t d = 1; d < in.shape.size(); ++d)
    shape.push_back(in.shape[d].is_known()                                         ? in.shape[d].value
                    : d < cfg.qat.input_shape.size() && cfg.qat.input_shape[d] > 0 ? cfg.qat.input_shape[d]
                                                                                   : 32);
  Source s;
  s.synthetic = true;
  s.file = "(synthetic)";
  s.x_name = in.name, s.y_name = "target";
  s.x = Tensor::empty(DType::F32, shape);
  SplitMix64 rng(stream_seed(cfg.seed, 0x5e0e, 0));
  for (int64_t i = 0; i < s.x.numel(); ++i)
    s.x.data<float>()[i] = static_cast<float>(rng.next() >> 40) / 16777216.f;
  torch::NoGradGuard ng;
  m.set_training(false);
  const auto out = m.forward({to_torch(s.x.rows(0, 1)).to(m.device())})[0];
  Shape ys{n};
  for (int64_t d = 1; d < out.dim(); ++d) ys.push_back(out.size(d));
  s.y = Tensor::empty(DType::F32, ys);
  for (int64_t i = 0; i < s.y.numel(); ++i)
    s.y.data<float>()[i] = static_cast<float>(rng.next() >> 40) / 16777216.f;
  return s;
}

// ---------------------------------------------------------------- progress

class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet), tty_(!quiet && isatty(2)) {}
  void batch(const std::string& phase, int epoch, int epochs, int64_t done, int64_t total, double loss) {
    if (!tty_) return;
    const int width = 24, filled = static_cast<int>(width * done / std::max<int64_t>(total, 1));
    std::fprintf(stderr, "\r%-4s epoch %d/%d [%s%s] %lld/%lld loss %.5g   ", phase.c_str(), epoch, epochs,
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total), loss);
    std::fflush(stderr);
  }
  void epoch(const EpochLog& e, int epochs, const std::string& note) {
    if (quiet_) return;
    if (tty_) std::fprintf(stderr, "\r%s\r", std::string(78, ' ').c_str());
    auto num = [](double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string("-"); };
    std::fprintf(stderr, "%-4s epoch %d/%d  train loss %s  val loss %s  %.2f s%s\n", e.phase.c_str(), e.epoch,
                 epochs, num(e.train_loss).c_str(), num(e.val_loss).c_str(), e.seconds, note.c_str());
  }
  void line(const std::string& s) {
    if (!quiet_) std::fprintf(stderr, "%s\n", s.c_str());
  }

 private:
  bool quiet_, tty_;
};

// ---------------------------------------------------------------- training loop

// ---------------------------------------------------------------- mixed precision

// precision: 16-mixed / bf16-mixed (Lightning's names) run the fp32 phase's forward passes under autocast
// where the device computes in half precision: CUDA fp16 (with dynamic loss scaling, as PyTorch's
// GradScaler) or bf16, CPU bf16 when the CPU has bf16 arithmetic (AVX512-BF16 or AMX). Weights, optimizer
// state and the loss stay fp32. QAT runs in fp32: its fake-quant ranges are fp32 values.
enum class Mixed { None, CpuBf16, CudaF16, CudaBf16 };

Mixed choose_precision(const TrainConfig& cfg, const torch::Device& dev, std::string* note) {
  const std::string& p = cfg.precision;
  if (p == "32-true" || p == "32") return Mixed::None;
  const bool bf = p.rfind("bf16", 0) == 0;
  if (dev.is_cuda()) {
    *note = fmt::format("precision {}: CUDA {} autocast in the fp32 phase{}; QAT runs in fp32", p,
                        bf ? "bf16" : "fp16", bf ? "" : " with dynamic loss scaling");
    return bf ? Mixed::CudaBf16 : Mixed::CudaF16;
  }
  if (__builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16")) {
    *note = fmt::format(
        "precision {}: CPU bf16 autocast in the fp32 phase (fp32 weights and optimizer); QAT runs in fp32",
        p);
    return Mixed::CpuBf16;
  }
  *note =
      fmt::format("precision {}: this CPU has no bf16 arithmetic (AVX512-BF16 / AMX): training in fp32", p);
  return Mixed::None;
}

// Autocast on for one forward pass (what torch.autocast does as a context manager).
class AutocastScope {
 public:
  explicit AutocastScope(Mixed m) : m_(m) {
    if (m_ == Mixed::None) return;
    if (m_ == Mixed::CpuBf16) {
      prev_on_ = at::autocast::is_cpu_enabled(), prev_type_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_autocast_cpu_dtype(torch::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    } else {
      prev_on_ = at::autocast::is_enabled(), prev_type_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_autocast_gpu_dtype(m_ == Mixed::CudaF16 ? torch::kHalf : torch::kBFloat16);
      at::autocast::set_enabled(true);
    }
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (m_ == Mixed::None) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (m_ == Mixed::CpuBf16) {
      at::autocast::set_cpu_enabled(prev_on_), at::autocast::set_autocast_cpu_dtype(prev_type_);
    } else {
      at::autocast::set_enabled(prev_on_), at::autocast::set_autocast_gpu_dtype(prev_type_);
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  Mixed m_;
  bool prev_on_ = false;
  at::ScalarType prev_type_ = torch::kFloat;
};

torch::Tensor forward_in(TrainableModel& m, const torch::Tensor& x, Mixed mixed) {
  torch::Tensor out;
  {
    AutocastScope ac(mixed);
    out = m.forward({x})[0];
  }
  return out.scalar_type() == torch::kFloat ? out : out.to(torch::kFloat);
}

// fp16 gradients underflow: the loss is scaled up before backward and the gradients down before the
// step; a step with non-finite gradients is skipped and the scale halved (PyTorch's GradScaler).
struct LossScaler {
  double scale = 65536;
  int good_steps = 0, skipped_in_a_row = 0;
};

struct Phase {
  std::string name;
  int epochs = 0;
  double lr = 0;
  double drift = 0;
  std::vector<torch::Tensor> anchor;  // weights the drift penalty pulls toward
  Mixed mixed = Mixed::None;
  LossScaler* scaler = nullptr;  // CudaF16 only
};

// Weight decay applies to the weights only, never to learnable quantization scales.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& cfg, const TrainableModel& m,
                                                        double lr) {
  std::vector<torch::Tensor> weights = m.weight_parameters(), scales;
  for (const auto& p : m.parameters())
    if (std::none_of(weights.begin(), weights.end(), [&](const torch::Tensor& w) { return w.is_same(p); }))
      scales.push_back(p);
  auto groups = [&](auto with_decay, auto without) {
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(weights, std::make_unique<decltype(with_decay)>(with_decay));
    if (!scales.empty()) g.emplace_back(scales, std::make_unique<decltype(without)>(without));
    return g;
  };
  const double wd = cfg.weight_decay;
  if (cfg.optimizer == "adam")
    return std::make_unique<torch::optim::Adam>(groups(torch::optim::AdamOptions(lr).weight_decay(wd),
                                                       torch::optim::AdamOptions(lr).weight_decay(0)));
  if (cfg.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        groups(torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(wd),
               torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(0)),
        torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(wd));
  return std::make_unique<torch::optim::AdamW>(groups(torch::optim::AdamWOptions(lr).weight_decay(wd),
                                                      torch::optim::AdamWOptions(lr).weight_decay(0)));
}

torch::Tensor loss_of(const TrainConfig& cfg, const torch::Tensor& out, torch::Tensor target) {
  if (!target.sizes().equals(out.sizes())) {
    TQ_CHECK(target.numel() == out.numel(), "the model output has shape [{}] but the target array holds [{}]",
             fmt::join(out.sizes(), ","), fmt::join(target.sizes(), ","));
    target = target.reshape(out.sizes());
  }
  return cfg.loss == "l1" ? torch::l1_loss(out, target) : torch::mse_loss(out, target);
}

// Several ranks: this rank's part of the global batch's mean loss (its samples' summed loss over the
// global batch's element count), so that the sum over ranks is the single-process loss.
torch::Tensor loss_share(const TrainConfig& cfg, const torch::Tensor& out, torch::Tensor target,
                         int64_t global_batch) {
  if (!target.sizes().equals(out.sizes())) {
    TQ_CHECK(target.numel() == out.numel(), "the model output has shape [{}] but the target array holds [{}]",
             fmt::join(out.sizes(), ","), fmt::join(target.sizes(), ","));
    target = target.reshape(out.sizes());
  }
  int64_t per_sample = 1;
  for (int64_t d = 1; d < out.dim(); ++d) per_sample *= out.size(d);
  const auto r = torch::Reduction::Sum;
  auto sum = cfg.loss == "l1" ? torch::l1_loss(out, target, r) : torch::mse_loss(out, target, r);
  return sum / static_cast<double>(global_batch * per_sample);
}

double evaluate(TrainableModel& m, const TrainConfig& cfg, const Split& s, Mixed mixed = Mixed::None) {
  if (s.size() == 0) return std::nan("");
  torch::NoGradGuard ng;
  m.set_training(false);
  double total = 0;
  // Several ranks: batch k on rank k mod world size, the totals summed.
  int64_t k = 0;
  for (int64_t i = 0; i < s.size(); i += cfg.batch_size, ++k) {
    if (k % dist::world_size() != dist::rank()) continue;
    const int64_t j = std::min(s.size(), i + cfg.batch_size);
    auto out = forward_in(m, s.x.slice(0, i, j).to(m.device()), mixed);
    total += loss_of(cfg, out, s.y.slice(0, i, j).to(m.device())).item<double>() * static_cast<double>(j - i);
  }
  if (dist::active()) {
    auto t = torch::tensor({total}, torch::kDouble);
    dist::all_reduce_sum(t);
    total = t.item<double>();
  }
  return total / static_cast<double>(s.size());
}

// One optimizer step on several ranks: this rank's share of the global batch order[i, j); the gradients
// and the loss summed across ranks in one bucket, so every rank steps with the single-process gradient
// (up to summation order) and sees the same loss (the same decision to stop).
// x / y: this rank's share of a global batch of `global` samples.
double distributed_step(TrainableModel& m, torch::optim::Optimizer& optim, const TrainConfig& cfg,
                        const torch::Tensor& x, const torch::Tensor& y, int64_t global, const Phase& ph,
                        int epoch, int64_t batch, const std::string& on_nan) {
  auto loss = loss_share(cfg, forward_in(m, x, ph.mixed), y, global);
  auto value = loss.detach().to(torch::kCPU, torch::kFloat).reshape({1}).clone();
  if (ph.drift > 0 && dist::rank() == 0) {  // the penalty's gradient once, not once per rank
    auto p = m.weight_parameters();
    torch::Tensor pen = torch::zeros({}, p[0].options().requires_grad(false));
    for (size_t k = 0; k < ph.anchor.size(); ++k) pen = pen + (p[k] - ph.anchor[k]).pow(2).sum();
    loss = loss + ph.drift * pen;
  }
  optim.zero_grad();
  loss.backward();
  std::vector<torch::Tensor> bucket;
  for (auto& p : m.parameters()) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    bucket.push_back(p.mutable_grad());
  }
  bucket.push_back(value);
  dist::all_reduce_sum(bucket);
  const double v = value.item<double>();
  if (!std::isfinite(v))
    fail("training stopped: the loss became {} in {} epoch {}, batch {}; {}", v, ph.name, epoch, batch + 1,
         on_nan);
  optim.step();
  return v;
}

// Several ranks: the epoch's optimizer steps and time spent in collectives (the benchmark's numbers).
void note_comm(EpochLog& log, const TrainConfig& cfg, int64_t samples) {
  if (!dist::active()) return;
  log.steps = (samples + cfg.batch_size - 1) / cfg.batch_size;
  log.comm_seconds = dist::take_comm_stats().seconds;
}

// One epoch; throws with a clear message when the loss stops being finite.
double train_epoch(TrainableModel& m, torch::optim::Optimizer& optim, const TrainConfig& cfg, const Split& s,
                   const Phase& ph, int epoch, Progress& prog, const std::string& on_nan) {
  m.set_training(true);
  const int64_t n = s.size();
  const auto params = m.parameter_names();
  double total = 0;
  int64_t batch = 0;
  // The global batch [i, j) of the epoch's order; x / y: this rank's share of it (all of it on one rank).
  auto step = [&](int64_t i, int64_t j, const torch::Tensor& xs, const torch::Tensor& ys) {
    if (dist::active()) {
      total += distributed_step(m, optim, cfg, xs.to(m.device()), ys.to(m.device()), j - i, ph, epoch, batch,
                                on_nan) *
               static_cast<double>(j - i);
      prog.batch(ph.name, epoch, ph.epochs, j, n, total / static_cast<double>(j));
      return;
    }
    auto x = xs.to(m.device()), y = ys.to(m.device());
    auto out = forward_in(m, x, ph.mixed);
    auto loss = loss_of(cfg, out, y);
    const double value = loss.item<double>();
    LossScaler* sc = ph.scaler;
    if (!std::isfinite(value) && sc && ++sc->skipped_in_a_row < 50) {  // fp16 overflow: skip, scale down
      sc->scale /= 2, sc->good_steps = 0;
      return;
    }
    if (!std::isfinite(value))
      fail("training stopped: the loss became {} in {} epoch {}, batch {}; {}", value, ph.name, epoch,
           batch + 1, on_nan);
    if (ph.drift > 0) {
      auto p = m.weight_parameters();
      torch::Tensor pen = torch::zeros({}, p[0].options().requires_grad(false));
      for (size_t k = 0; k < ph.anchor.size(); ++k) pen = pen + (p[k] - ph.anchor[k]).pow(2).sum();
      loss = loss + ph.drift * pen;
    }
    optim.zero_grad();
    if (sc) {
      (loss * sc->scale).backward();
      bool finite = true;
      for (auto& p : m.parameters())
        if (p.grad().defined()) {
          p.mutable_grad().div_(sc->scale);
          finite = finite && torch::isfinite(p.grad()).all().item<bool>();
        }
      if (!finite) {
        sc->scale /= 2, sc->good_steps = 0;
        if (++sc->skipped_in_a_row >= 50)
          fail(
              "training stopped: fp16 gradients overflowed in 50 steps in a row ({} epoch {}); use "
              "precision: "
              "32-true or bf16-mixed",
              ph.name, epoch);
        return;
      }
      sc->skipped_in_a_row = 0;
      if (++sc->good_steps == 2000) sc->scale *= 2, sc->good_steps = 0;
    } else {
      loss.backward();
    }
    optim.step();
    total += value * static_cast<double>(j - i);
    prog.batch(ph.name, epoch, ph.epochs, j, n, total / static_cast<double>(j));
  };
  if (s.stream) {  // the loader's order (data/shards.h): shards shuffled, then rows within each shard
    data::LoaderOptions lo;
    lo.arrays = {s.x_name, s.y_name};
    lo.batch_size = cfg.batch_size;
    lo.seed = stream_seed(cfg.seed, ph.name == "fp32" ? 0xf32 : 0x9a7, 0);
    lo.epoch = static_cast<uint64_t>(epoch);
    lo.rank = dist::rank(), lo.world_size = dist::world_size();
    data::ShardLoader loader(*s.stream, lo);
    NamedTensors b;
    int64_t global = 0;
    for (int64_t i = 0; i < n && loader.next(&b, &global); i += global, ++batch)
      step(i, std::min(n, i + global), to_torch(b[0].second), to_torch(b[1].second));
    return total / static_cast<double>(std::max<int64_t>(n, 1));
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  SplitMix64 rng(stream_seed(cfg.seed, ph.name == "fp32" ? 0xf32 : 0x9a7, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
  for (int64_t i = 0; i < n; i += cfg.batch_size, ++batch) {
    const int64_t j = std::min(n, i + cfg.batch_size);
    const auto [lo, hi] = dist::share(j - i);
    auto idx =
        torch::tensor(std::vector<int64_t>(order.begin() + i + lo, order.begin() + i + hi), torch::kInt64);
    step(i, j, s.x.index_select(0, idx), s.y.index_select(0, idx));
  }
  return total / static_cast<double>(std::max<int64_t>(n, 1));
}

// Teacher outputs (the fp32 model's own predictions) as targets: distillation.
void set_teacher_targets(TrainableModel& teacher, const TrainConfig& cfg, DataSet& d) {
  torch::NoGradGuard ng;
  teacher.set_training(false);
  for (Split* s : {&d.train, &d.val}) {
    if (s->size() == 0) continue;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < s->size(); i += cfg.batch_size)
      parts.push_back(
          teacher.forward({s->x.slice(0, i, std::min(s->size(), i + cfg.batch_size)).to(teacher.device())})[0]
              .to(torch::kCPU));
    s->y = torch::cat(parts, 0);
  }
}

torch::Device device_of(const TrainConfig& cfg) {
  if (cfg.device == "cpu") return torch::kCPU;
  TQ_CHECK(torch::cuda::is_available(),
           "--device {}: this LibTorch build has no CUDA device available (build against a CUDA LibTorch "
           "with -DCMAKE_PREFIX_PATH=... and run on a machine with a GPU)",
           cfg.device);
  return torch::Device(cfg.device);
}

void set_meta(Model& m, const std::string& key, const std::string& value) {
  for (auto& kv : m.metadata)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  m.metadata.emplace_back(key, value);
}

// qat.input_name / output_name on an exported model ("" keeps the model's own names).
void apply_names(Model& m, const TrainConfig& cfg) {
  bool renamed = false;
  for (auto [from, to] : {std::pair{m.graph.inputs[0].name, cfg.qat.input_name},
                          std::pair{m.graph.outputs[0].name, cfg.qat.output_name}})
    if (!to.empty() && to != from) m.graph.rename_value(from, to), renamed = true;
  if (renamed) infer_shapes(m);
}

struct Setup {
  TrainConfig cfg;
  std::unique_ptr<TrainableModel> model;
  DataSet data;
  Progress prog;
  TrainResult result;
  Mixed mixed = Mixed::None;
  LossScaler scaler;
  std::string command;       // "train" | "qat": which run a resume state belongs to
  std::string start_digest;  // SHA-256 of the model the run started from (when a resume state is used)
};

// ---------------------------------------------------------------- resume

// Every rank's CPU generator state (a collective with several ranks): dropout draws from it.
torch::Tensor rng_states() {
  auto gen = at::detail::getDefaultCPUGenerator();
  torch::Tensor mine;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    mine = gen.get_state();
  }
  if (!dist::active()) return mine.unsqueeze(0);
  auto all = torch::zeros({dist::world_size(), mine.numel()}, torch::kFloat64);
  all[dist::rank()] = mine.to(torch::kFloat64);
  dist::all_reduce_sum(all);  // one row from each rank, the others zero: exact
  return all.to(torch::kUInt8);
}

void set_rng_state(const torch::Tensor& states) {
  auto gen = at::detail::getDefaultCPUGenerator();
  const int64_t row = dist::rank() < states.size(0) ? dist::rank() : 0;
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(states[row].contiguous());
}

// The QAT phase's bookkeeping a resume state also carries.
struct QatBook {
  const TrainableModel::State* fp32_end = nullptr;
  const TrainableModel::State* best_state = nullptr;
  double best = 0;
  int best_epoch = 0;
};

// After a finished epoch (every rank calls it): rank 0 rewrites the resume state.
void save_resume(Setup& s, const RunOptions& opt, const std::string& phase, int epoch,
                 torch::optim::Optimizer& optim, const QatBook* qat) {
  if (opt.state.empty()) return;
  ResumeState st;
  st.rng = rng_states();
  if (dist::rank() == 0) {
    st.command = s.command, st.config_hash = s.result.config_hash, st.start_digest = s.start_digest;
    st.device = s.cfg.device, st.threads = s.cfg.threads, st.world_size = dist::world_size();
    st.smoke = opt.smoke;
    st.train_samples = s.result.train_samples, st.val_samples = s.result.val_samples;
    st.test_samples = s.result.test_samples;
    st.phase = phase, st.epoch = epoch;
    st.model = s.model->snapshot();
    if (qat) {
      st.has_qat = true;
      st.fp32_end = *qat->fp32_end, st.best_state = *qat->best_state;
      st.best = qat->best, st.best_epoch = qat->best_epoch;
    }
    st.optimizer = optimizer_bytes(optim);
    st.loss_scale = s.scaler.scale, st.good_steps = s.scaler.good_steps;
    st.skipped_in_a_row = s.scaler.skipped_in_a_row;
    st.epochs = s.result.epochs;
    write_resume_state(opt.state, st);
  }
  crash_point(fmt::format("train:{}:{}", phase, epoch).c_str());
}

// The run finished and its files are written: its resume state has nothing left to continue.
void drop_resume_state(const RunOptions& opt) {
  std::error_code ec;
  if (!opt.state.empty() && dist::rank() == 0) std::filesystem::remove(opt.state, ec);
}

// A resume state belongs to this run: the same command, config (overrides included), start model and
// data. Another thread count, device or world size continues, but not to the same bytes: said once.
void check_resume(Setup& s, const ResumeState& r, const RunOptions& opt) {
  const std::string& file = opt.resume;
  TQ_CHECK(r.command == s.command, "{}: the state of a `tinyqat {}` run; resume it with `tinyqat {}`", file,
           r.command, r.command);
  TQ_CHECK(r.config_hash == s.result.config_hash,
           "{}: written by a run with another config (hash {}, this run {}): resume with the same config "
           "and overrides (epochs, learning rate, seed, ...)",
           file, r.config_hash.substr(0, 12), s.result.config_hash.substr(0, 12));
  TQ_CHECK(r.start_digest == s.start_digest,
           "{}: the run started from another model (its init: file or --init model changed)", file);
  TQ_CHECK(r.train_samples == s.result.train_samples && r.val_samples == s.result.val_samples &&
               r.test_samples == s.result.test_samples,
           "{}: the data differs: {}/{}/{} training/validation/test samples when written, {}/{}/{} now", file,
           r.train_samples, r.val_samples, r.test_samples, s.result.train_samples, s.result.val_samples,
           s.result.test_samples);
  TQ_CHECK(r.smoke == opt.smoke, "{}: --smoke differs from the run that wrote it", file);
  std::vector<std::string> differ;
  if (r.threads != s.cfg.threads)
    differ.push_back(fmt::format("{} threads (then {})", s.cfg.threads, r.threads));
  if (r.device != s.cfg.device) differ.push_back(fmt::format("device {} (then {})", s.cfg.device, r.device));
  if (r.world_size != dist::world_size())
    differ.push_back(fmt::format("{} ranks (then {})", dist::world_size(), r.world_size));
  if (!differ.empty())
    s.prog.line(fmt::format("resume: {}: continues, but the files will not equal an uninterrupted run's",
                            fmt::join(differ, ", ")));
}

// The model's values and observers as the state holds them: the same names, shapes and count.
void restore_model(TrainableModel& m, const TrainableModel::State& st, const std::string& file) {
  const TrainableModel::State now = m.snapshot();
  TQ_CHECK(now.values.size() == st.values.size() && now.quants.size() == st.quants.size(),
           "{}: resume state: {} values and {} observers, the model has {} and {}", file, st.values.size(),
           st.quants.size(), now.values.size(), now.quants.size());
  for (const auto& [name, t] : now.values) {
    auto it = st.values.find(name);
    TQ_CHECK(it != st.values.end(), "{}: resume state: the model's value '{}' is missing", file, name);
    TQ_CHECK(it->second.sizes() == t.sizes() && it->second.scalar_type() == t.scalar_type(),
             "{}: resume state: value '{}' has another shape or type than the model's", file, name);
  }
  for (size_t i = 0; i < st.quants.size(); ++i)
    TQ_CHECK(st.quants[i].learnable == now.quants[i].learnable &&
                 (!st.quants[i].learnable ||
                  (st.quants[i].scale.numel() == 1 && st.quants[i].zero_point.numel() == 1)),
             "{}: resume state: observer {} does not match the model's", file, i);
  m.restore(st);
}

// What every phase restores: the model, optimizer, random generators, loss scaler and the epoch log.
void restore_common(Setup& s, torch::optim::Optimizer& optim, const ResumeState& r, const std::string& file) {
  restore_model(*s.model, r.model, file);
  load_optimizer(optim, r.optimizer, file);
  set_rng_state(r.rng);
  s.scaler.scale = r.loss_scale, s.scaler.good_steps = r.good_steps;
  s.scaler.skipped_in_a_row = r.skipped_in_a_row;
  s.result.epochs = r.epochs;
}

// Training allocates and frees the same few-MB activation buffers every step. glibc serves blocks that
// large with fresh mmap()s by default, so every step pays page faults on memory it just returned;
// keeping them in the heap makes an fp32 epoch of learned_filter ~25 % faster (docs/training.md).
void keep_buffers_in_heap() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

Setup begin(const TrainConfig& cfg_in, const RunOptions& opt, const Model& start, Source src) {
  keep_buffers_in_heap();
  Setup s{cfg_in, nullptr, {}, Progress(opt.quiet || dist::rank() != 0), {}, Mixed::None, {}, {}, {}};
  TrainConfig& cfg = s.cfg;
  if (opt.smoke) {
    cfg.qat.epochs_fp32 = std::min(cfg.qat.epochs_fp32, 1);
    cfg.qat.epochs_qat = std::min(cfg.qat.epochs_qat, 1);
    cfg.qat.n_calibration = std::min(cfg.qat.n_calibration, 8);
  }
  torch::set_num_threads(cfg.threads);
  torch::manual_seed(cfg.seed);
  TQ_CHECK(start.graph.inputs.size() == 1 && start.graph.outputs.size() >= 1,
           "the trainer needs a model with one input (this one has {})", start.graph.inputs.size());
  s.model = std::make_unique<TrainableModel>(start);
  if (!opt.state.empty() || !opt.resume.empty()) s.start_digest = sha256_hex(export_onnx_bytes(start));
  const torch::Device dev = device_of(cfg);
  s.model->to(dev);
  if (dist::active()) {  // every rank starts from rank 0's weights
    auto state = s.model->snapshot();
    {  // what every collective's size follows from, before the first one that depends on it
      std::string layout;
      int64_t values = 0;
      for (const auto& [name, t] : state.values) {
        layout += fmt::format("{}:{};", name, fmt::join(t.sizes(), "x"));
        values += t.numel();
      }
      dist::agree("the config or the model",
                  fmt::format("config {}{}, {} tensors of {} values (layout {})", cfg.hash().substr(0, 12),
                              opt.smoke ? " (--smoke)" : "", state.values.size(), values,
                              sha256_hex(layout.data(), layout.size()).substr(0, 12)));
    }
    for (auto& [name, t] : state.values)
      if (t.is_floating_point()) dist::broadcast(t);  // the others are constants: the same everywhere
    s.model->restore(state);
    s.prog.line(fmt::format("distributed: {} ranks (Gloo), global batch {}, {} thread(s) per rank",
                            dist::world_size(), cfg.batch_size, cfg.threads));
  }
  if (src.synthetic) src = synthetic_source(cfg, *s.model);
  s.data =
      load_data(cfg, start.graph.inputs[0], opt.smoke, src, [&](const std::string& l) { s.prog.line(l); });
  if (dist::active()) {
    // Sizes, and the bytes of the arrays in memory (a streamed corpus: its size only): ranks that read
    // different files of one shape would otherwise train silently on different data.
    std::string bytes;
    for (const Split* sp : {&s.data.train, &s.data.val})
      for (const torch::Tensor* t : {&sp->x, &sp->y})
        if (t->defined() && !sp->stream) {
          const torch::Tensor c = t->to(torch::kCPU).contiguous();
          bytes += sha256_hex(c.data_ptr(), static_cast<size_t>(c.numel() * c.element_size()));
        }
    dist::agree("the data",
                fmt::format("{} training, {} validation, {} test samples, contents {}", s.data.train.size(),
                            s.data.val.size(), s.data.test.size(),
                            bytes.empty() ? std::string("streamed")
                                          : sha256_hex(bytes.data(), bytes.size()).substr(0, 12)));
  }
  std::string note;
  s.mixed = choose_precision(cfg, dev, &note);
  TQ_CHECK(!(s.mixed == Mixed::CudaF16 && dist::active()),
           "{}: precision {} (fp16 with loss scaling) is not supported with several ranks; use bf16-mixed",
           cfg.path, cfg.precision);
  if (!note.empty()) s.prog.line(note);
  s.result.precision = note.empty() ? "fp32" : note;
  s.result.config_hash = cfg.hash();
  s.result.train_samples = s.data.train.size();
  s.result.val_samples = s.data.val.size();
  s.result.test_samples = s.data.test.size();
  s.result.split = s.data.by_key ? "key" : "permutation";
  return s;
}

// from: a resume state of this phase (nullptr: from the first epoch).
void fp32_phase(Setup& s, const RunOptions& opt, const ResumeState* from) {
  TrainConfig& cfg = s.cfg;
  TrainableModel& m = *s.model;
  if (cfg.loss == "distill") {
    TrainableModel teacher(m.checkpoint_model());
    teacher.to(m.device());
    set_teacher_targets(teacher, cfg, s.data);
  }
  Phase ph{
      "fp32", cfg.qat.epochs_fp32, cfg.lr, 0, {}, s.mixed, s.mixed == Mixed::CudaF16 ? &s.scaler : nullptr};
  auto optim = make_optimizer(cfg, m, ph.lr);
  std::optional<int> saved;
  int first = 1;
  if (from) {
    restore_common(s, *optim, *from, opt.resume);
    first = from->epoch + 1;
    if (!opt.checkpoint.empty() && from->epoch > 0) saved = from->epoch, s.result.checkpoint = opt.checkpoint;
    s.prog.line(fmt::format("resume: {}: fp32 epoch {} of {} was the last finished", opt.resume, from->epoch,
                            ph.epochs));
  }
  for (int e = first; e <= ph.epochs; ++e) {
    const auto t0 = Clock::now();
    const std::string on_nan =
        saved ? fmt::format("the last good checkpoint is {} (epoch {})", opt.checkpoint, *saved)
              : std::string("no checkpoint was written");
    dist::take_comm_stats();
    EpochLog log{"fp32", e, train_epoch(m, *optim, cfg, s.data.train, ph, e, s.prog, on_nan), 0, 0};
    log.seconds = std::chrono::duration<double>(Clock::now() - t0).count();  // training only
    note_comm(log, cfg, s.data.train.size());
    log.val_loss = evaluate(m, cfg, s.data.val, s.mixed);
    // The last step may have made weights non-finite without a non-finite loss: never checkpoint those.
    bool finite = std::isfinite(log.val_loss) || s.data.val.size() == 0;
    for (const auto& p : m.weight_parameters()) finite = finite && torch::isfinite(p).all().item<bool>();
    if (!finite)
      fail("training stopped: the weights or the validation loss became non-finite after fp32 epoch {}; {}",
           e, on_nan);
    if (!opt.checkpoint.empty() && dist::rank() == 0) {  // rank 0 alone writes
      Model ck = m.checkpoint_model();
      apply_names(ck, cfg);  // the same input/output names as the exported models: comparable files
      set_meta(ck, "tinyqat.checkpoint", fmt::format("fp32 epoch {}/{}", e, ph.epochs));
      set_meta(ck, "tinyqat.config_hash", s.result.config_hash);
      export_onnx(ck, opt.checkpoint);
    }
    if (!opt.checkpoint.empty()) saved = e, s.result.checkpoint = opt.checkpoint;
    s.prog.epoch(log, ph.epochs, "");
    s.result.epochs.push_back(log);
    save_resume(s, opt, "fp32", e, *optim, nullptr);
  }
  if (ph.epochs == 0 && !opt.checkpoint.empty() && dist::rank() == 0) {
    Model ck = m.checkpoint_model();
    apply_names(ck, cfg);
    export_onnx(ck, opt.checkpoint);
    s.result.checkpoint = opt.checkpoint;
  }
}

// The held-out test split through `model` with the runtime (the file a user deploys, not the trainer's
// view of it): the training loss, and for one score per sample PLCC / SROCC / RMSE against the labels,
// for images PSNR against the target (peak 1).
TestMetrics test_metrics(const Model& model, const TrainConfig& cfg, const Split& test,
                         const std::string& label) {
  TestMetrics t;
  t.model = label;
  t.samples = test.size();
  if (test.size() == 0 || !test.y.defined()) return t;
  const NamedTensors data{{model.graph.inputs[0].name, from_torch(test.x)}};
  quant::SampleRunner runner(model, {}, cfg.threads);
  std::vector<double> pred;
  runner.run(data, test.size(), [&](const std::vector<Tensor>& out) {
    const Tensor& o = out[0];
    for (int64_t i = 0; i < o.numel(); ++i) pred.push_back(o.scalar_as_double(i));
  });
  const torch::Tensor yt = test.y.to(torch::kCPU).to(torch::kFloat64).contiguous();
  const std::vector<double> y(yt.data_ptr<double>(), yt.data_ptr<double>() + yt.numel());
  TQ_CHECK(y.size() == pred.size(), "test split: the model gives {} values for {} target values", pred.size(),
           y.size());
  double l = 0;
  for (size_t i = 0; i < y.size(); ++i)
    l += cfg.loss == "mse" ? (pred[i] - y[i]) * (pred[i] - y[i]) : std::abs(pred[i] - y[i]);
  t.loss = l / static_cast<double>(std::max<size_t>(y.size(), 1));
  if (static_cast<int64_t>(y.size()) == test.size()) {
    if (test.size() >= 2) t.plcc = quant::plcc(pred, y), t.srocc = quant::srocc(pred, y);
    t.rmse = quant::rmse(pred, y);
  } else {
    std::vector<float> a(pred.begin(), pred.end()), b(y.begin(), y.end());
    t.psnr = data::psnr(a.data(), b.data(), a.size());
  }
  return t;
}

void report_test(Progress& prog, const TestMetrics& t, const std::string& split) {
  if (t.samples == 0) return;
  auto num = [](double v, const char* f) {
    return std::isfinite(v) ? fmt::format(fmt::runtime(f), v) : std::string("-");
  };
  prog.line(fmt::format("test ({} samples never trained or validated on, split by {}): {} — loss {}{}",
                        t.samples, split, t.model, num(t.loss, "{:.6g}"),
                        std::isfinite(t.psnr)
                            ? ", PSNR " + num(t.psnr, "{:.3f}") + " dB"
                            : ", PLCC " + num(t.plcc, "{:.4f}") + ", SROCC " + num(t.srocc, "{:.4f}") +
                                  ", RMSE " + num(t.rmse, "{:.4g}")));
}

}  // namespace

Model initial_model(const TrainConfig& cfg, const Tensor* inputs, const data::ShardCorpus* corpus) {
  if (!cfg.init.empty()) {
    TQ_CHECK(std::filesystem::is_regular_file(cfg.init), "{}: init: no such file '{}'", cfg.path, cfg.init);
    Model m = import_onnx(cfg.init);
    quant::check_fp32(m, cfg.init);
    return m;
  }
  zoo::Args args = cfg.model_args;
  if (cfg.model == "mlp" && (!args.count("input_mean") || !args.count("input_std")) &&
      (inputs || cfg.cache.empty())) {
    // Bake in the training set's per-feature mean and standard deviation (a synthetic --smoke run keeps the
    // zoo's 0 / 1); a sharded corpus's from its opening pass.
    std::optional<data::ShardCorpus> opened;
    if (!corpus && !inputs && data::is_shard_corpus(cfg.train_data))
      corpus = &opened.emplace(data::open_shard_corpus(cfg.train_data));
    if (corpus) {
      const data::ShardArray& a = corpus->array(cfg.input_array);
      TQ_CHECK(a.row_shape.size() == 1 && a.dtype == DType::F32,
               "{}: array '{}' must be float32 [samples, features] for mlp", cfg.train_data, cfg.input_array);
      const size_t k = static_cast<size_t>(&a - corpus->arrays.data());
      zoo::Arg am, as;
      am.numbers = corpus->mean[k];
      for (double v : corpus->stddev[k]) as.numbers.push_back(std::max(v, 1e-6));
      args.emplace("input_mean", am);
      args.emplace("input_std", as);
      if (!args.count("in_features")) args["in_features"].numbers = {static_cast<double>(a.row_shape[0])};
      return zoo::build(cfg.model, args, cfg.seed);
    }
    NamedTensors arrays;
    if (!inputs) arrays = read_npz(cfg.train_data);
    const Tensor& x = inputs ? *inputs : find_array(arrays, cfg.input_array, cfg.train_data, "data.input");
    TQ_CHECK(x.rank() == 2 && x.dtype() == DType::F32,
             "{}: array '{}' must be float32 [samples, features] for mlp", cfg.train_data, cfg.input_array);
    auto xt = to_torch(x).to(torch::kFloat64);
    auto mean = xt.mean(0), sd = xt.std(0, false).clamp_min(1e-6);
    zoo::Arg am, as;
    for (int64_t i = 0; i < x.dim(1); ++i) {
      am.numbers.push_back(mean[i].item<double>());
      as.numbers.push_back(sd[i].item<double>());
    }
    args.emplace("input_mean", am);
    args.emplace("input_std", as);
    if (!args.count("in_features")) args["in_features"].numbers = {static_cast<double>(x.dim(1))};
  }
  return zoo::build(cfg.model, args, cfg.seed);
}

namespace {
TrainResult train_impl(const TrainConfig& cfg, const RunOptions& opt);
TrainResult qat_impl(const TrainConfig& cfg, const RunOptions& opt);
QatModels qat_models_impl(const TrainConfig& cfg, const RunOptions& opt);
}  // namespace

// LibTorch reports its own errors as c10::Error with a C++ backtrace: keep the first line.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    fail("LibTorch: {}", msg.substr(0, msg.find('\n')));
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // anything else is still one line and exit code 2, never an abort
    fail("trainer: {}", e.what());
  }
}

TrainResult run_train(const TrainConfig& cfg, const RunOptions& opt) {
  return guarded([&] { return train_impl(cfg, opt); });
}

TrainResult run_qat(const TrainConfig& cfg, const RunOptions& opt) {
  return guarded([&] { return qat_impl(cfg, opt); });
}

QatModels qat_models(const TrainConfig& cfg, const RunOptions& opt) {
  return guarded([&] { return qat_models_impl(cfg, opt); });
}

TrainConfig distill_recipe(const std::string& input_array) {
  TrainConfig c;
  c.path = "(built-in distillation recipe)";
  c.init = "(given model)";
  c.train_data = "(given data)";
  c.input_array = input_array;
  c.loss = "distill";
  c.batch_size = 16;
  c.lr = 1e-4;
  c.val_frac = 0.2;
  c.qat.epochs_fp32 = 0;
  c.qat.epochs_qat = 10;
  c.qat.lr_qat = 1e-5;
  c.qat.n_calibration = 1 << 30;
  c.qat.qconfig = "asymmetric";
  c.qat.init_ranges = "mse";
  c.qat.freeze_observers_epoch = 0;
  return c;
}

quant::QatRung ladder_qat_rung(int epochs, int threads, const std::set<std::string>& exclude, bool progress) {
  quant::QatRung rung;
  rung.refuses = [](const Model& fp32) {
    return fp32.graph.inputs.size() == 1 ? std::string()
                                         : std::string("the trainer takes single-input models");
  };
  rung.run = [epochs, threads, exclude, progress](const Model& fp32, const NamedTensors& calibration) {
    TrainConfig c = distill_recipe(fp32.graph.inputs.at(0).name);
    c.qat.epochs_qat = epochs;
    c.qat.exclude.assign(exclude.begin(), exclude.end());
    c.threads = threads;
    RunOptions r;
    r.quiet = !progress;
    r.start = &fp32;
    r.data = &calibration;
    return qat_models(c, r).int8;
  };
  return rung;
}

namespace {

// What the command says before the training starts (one line each; --quiet keeps them quiet).
std::function<void(const std::string&)> say_of(const RunOptions& opt) {
  return [quiet = opt.quiet || dist::rank() != 0](const std::string& l) {
    if (!quiet) std::fprintf(stderr, "%s\n", l.c_str());
  };
}

// Several ranks: the same command, fp32 phase (run or skipped by --init) and resume point on every rank
// (dist::agree), before the phases' collectives.
void agree_on_start(const Setup& s, const RunOptions& opt, const ResumeState* from) {
  dist::agree(
      "the command or where it starts",
      fmt::format("{}{}, {}", s.command, opt.init.empty() ? "" : " --init",
                  from ? fmt::format("resume after {} epoch {}", from->phase, from->epoch) : "no resume"));
}

TrainResult train_impl(const TrainConfig& cfg, const RunOptions& opt) {
  TQ_CHECK(!opt.checkpoint.empty(), "train: no checkpoint path given");
  Source src = read_source(cfg, opt.smoke, opt.data, say_of(opt));
  const Model start = initial_model(cfg, src.synthetic || src.corpus ? nullptr : &src.x, src.corpus.get());
  std::optional<ResumeState> from;
  if (!opt.resume.empty()) from = read_resume_state(opt.resume);
  Setup s = begin(cfg, opt, start, std::move(src));
  s.command = "train";
  if (from) check_resume(s, *from, opt);
  agree_on_start(s, opt, from ? &*from : nullptr);
  fp32_phase(s, opt, from ? &*from : nullptr);
  if (s.data.test.size() > 0 && dist::rank() == 0) {
    Progress summary(false);
    s.result.test.push_back(test_metrics(s.model->fp32_model(), s.cfg, s.data.test, "fp32"));
    report_test(summary, s.result.test.back(), s.result.split);
  }
  drop_resume_state(opt);
  return s.result;
}

QatModels qat_models_impl(const TrainConfig& cfg_in, const RunOptions& opt) {
  Model start;
  if (opt.start) {
    start = *opt.start;
    quant::check_fp32(start, "QAT");
  } else if (!opt.init.empty()) {
    TQ_CHECK(std::filesystem::is_regular_file(opt.init), "--init: no such model '{}'", opt.init);
    start = import_onnx(opt.init);
    quant::check_fp32(start, opt.init);
  }
  std::optional<ResumeState> from;
  if (!opt.resume.empty()) from = read_resume_state(opt.resume);
  Source src = read_source(cfg_in, opt.smoke, opt.data, say_of(opt));
  if (!opt.start && opt.init.empty())
    start = initial_model(cfg_in, src.synthetic || src.corpus ? nullptr : &src.x, src.corpus.get());
  Setup s = begin(cfg_in, opt, start, std::move(src));
  s.command = "qat";
  if (from) check_resume(s, *from, opt);
  agree_on_start(s, opt, from ? &*from : nullptr);
  TrainConfig& cfg = s.cfg;
  TrainableModel& m = *s.model;
  const ResumeState* qat_from = from && from->phase == "qat" ? &*from : nullptr;
  if (qat_from) {  // the fp32 phase had finished: the model where it ended
    restore_model(m, qat_from->fp32_end, opt.resume);
    if (!opt.checkpoint.empty() && cfg.qat.epochs_fp32 > 0) s.result.checkpoint = opt.checkpoint;
  } else if (opt.init.empty() && !opt.start) {
    fp32_phase(s, opt, from ? &*from : nullptr);
  } else if (opt.start) {
    s.prog.line("fp32 phase skipped: starting from the given fp32 model");
  } else {
    s.prog.line(fmt::format("fp32 phase skipped: starting from {}", opt.init));
  }
  // Where the fp32 phase ended: what a resume state of the QAT phase carries (kept only when one is written).
  const TrainableModel::State fp32_end = opt.state.empty() ? TrainableModel::State{} : m.snapshot();

  // Teacher for distillation: the fp32 model as it is now, before any fake-quant.
  if (cfg.loss == "distill") {
    TrainableModel teacher(m.checkpoint_model());
    teacher.to(m.device());
    set_teacher_targets(teacher, cfg, s.data);
  }

  Model start_fp32 = m.checkpoint_model();
  apply_names(start_fp32, cfg);

  // Prepare: the same plan as static PTQ, then initial ranges from calibration on training samples.
  QatOptions qo;
  qo.qconfig.activations = quant::parse_act_scheme(cfg.qat.qconfig);
  qo.qconfig.method = quant::parse_method(cfg.qat.init_ranges);
  qo.qconfig.exclude.insert(cfg.qat.exclude.begin(), cfg.qat.exclude.end());
  qo.qconfig.quantize_outputs = cfg.qat.quantize_outputs;
  const Model folded = m.fp32_model();  // BN folded; prepare_qat changes no weight
  for (const auto& e : cfg.qat.exclude)
    TQ_CHECK(folded.graph.has_node(e), "{}: qat.exclude: the model has no node named '{}'", cfg.path, e);
  qo.averaging = cfg.qat.averaging;
  qo.lsq = cfg.qat.lsq;
  m.prepare_qat(qo);
  {
    const int64_t nc = std::min<int64_t>(cfg.qat.n_calibration, s.data.train.size());
    NamedTensors calib{{m.inputs()[0].name, from_torch(first_inputs(s.data.train, nc))}};
    qo.qconfig.max_samples = nc;
    int64_t used = 0;
    m.set_ranges(quant::calibrate_ranges(folded, m.plan(), calib, qo.qconfig, &used));
    s.result.calibration_samples = used;
  }
  s.result.quantized_tensors = m.plan().tensors;
  s.prog.line(
      fmt::format("qat: {} activation tensors and {} weighted units fake-quantized ({} activations); "
                  "ranges from {} samples ({})",
                  m.plan().tensors.size(), m.plan().units.size(), cfg.qat.qconfig,
                  s.result.calibration_samples, cfg.qat.init_ranges));

  Phase ph{"qat", cfg.qat.epochs_qat, cfg.qat_lr(), cfg.qat.drift_penalty, {}};
  if (ph.drift > 0)
    for (const auto& p : m.weight_parameters()) ph.anchor.push_back(p.detach().clone());
  auto optim = make_optimizer(cfg, m, ph.lr);
  double best = 0;
  int best_epoch = 0, first = 1;
  TrainableModel::State best_state;
  if (qat_from) {
    restore_common(s, *optim, *qat_from, opt.resume);
    best = qat_from->best, best_epoch = qat_from->best_epoch, best_state = qat_from->best_state;
    first = qat_from->epoch + 1;
    s.prog.line(fmt::format("resume: {}: QAT epoch {} of {} was the last finished", opt.resume,
                            qat_from->epoch, ph.epochs));
  } else {
    EpochLog start_log{"qat", 0, std::nan(""), evaluate(m, cfg, s.data.val), 0};
    s.prog.epoch(start_log, ph.epochs, "  (after calibration)");
    s.result.epochs.push_back(start_log);
    best = start_log.val_loss;
    best_state = m.snapshot();
  }
  for (int e = first; e <= ph.epochs; ++e) {
    if (cfg.qat.freeze_bn_epoch >= 0 && e - 1 >= cfg.qat.freeze_bn_epoch && !m.bn_frozen()) m.freeze_bn();
    if (cfg.qat.freeze_observers_epoch >= 0 && e - 1 >= cfg.qat.freeze_observers_epoch) m.freeze_observers();
    const auto t0 = Clock::now();
    dist::take_comm_stats();
    EpochLog log{"qat", e,
                 train_epoch(m, *optim, cfg, s.data.train, ph, e, s.prog,
                             "nothing was exported; lower qat.lr_qat or check the data"),
                 0, 0};
    log.seconds = std::chrono::duration<double>(Clock::now() - t0).count();  // training only
    note_comm(log, cfg, s.data.train.size());
    log.val_loss = evaluate(m, cfg, s.data.val);
    std::string note;
    // Without a validation split every epoch counts as better: the last one is exported.
    const bool better = s.data.val.size() == 0 || (std::isfinite(log.val_loss) && !(log.val_loss >= best));
    if (better) {
      best = log.val_loss, best_epoch = e, best_state = m.snapshot();
      note = "  *";
    }
    s.prog.epoch(log, ph.epochs, note);
    s.result.epochs.push_back(log);
    const QatBook book{&fp32_end, &best_state, best, best_epoch};
    save_resume(s, opt, "qat", e, *optim, &book);
  }
  if (cfg.qat.keep_best && best_epoch != ph.epochs && s.data.val.size() > 0) {
    m.restore(best_state);
    s.prog.line(fmt::format("qat: exporting epoch {} (lowest validation loss {:.6g})", best_epoch, best));
  } else {
    best_epoch = ph.epochs;
  }
  s.result.best_qat_epoch = best_epoch;

  // Convert + export: parameters from the trained observers, no re-calibration.
  Model fp32 = m.fp32_model(), int8 = m.qdq_model();
  for (Model* x : {&fp32, &int8}) {
    apply_names(*x, cfg);
    set_meta(*x, "tinyqat.config_hash", s.result.config_hash);
    set_meta(*x, "tinyqat.seed", std::to_string(cfg.seed));
    set_meta(*x, "tinyqat.version", kVersion);
  }
  set_meta(fp32, "tinyqat.qat_conditioned", fmt::format("fp32 weights after {} QAT epochs", best_epoch));
  set_meta(int8, "tinyqat.quant_mode", "qat");
  set_meta(int8, "tinyqat.qconfig",
           fmt::format("weights=int8-per-channel-symmetric,activations={},ranges=trained({} init){}",
                       cfg.qat.qconfig, cfg.qat.init_ranges, cfg.qat.lsq ? ",lsq" : ""));
  set_meta(int8, "tinyqat.qat_epochs",
           fmt::format("fp32={},qat={},exported={}", cfg.qat.epochs_fp32, cfg.qat.epochs_qat, best_epoch));
  if (s.data.test.size() > 0 && dist::rank() == 0) {
    s.result.test.push_back(test_metrics(start_fp32, cfg, s.data.test, "fp32 (where QAT started)"));
    s.result.test.push_back(test_metrics(int8, cfg, s.data.test, "int8 (the exported QDQ model)"));
  }
  return {std::move(fp32), std::move(int8), std::move(start_fp32), s.result};
}

// data.eval: the exported int8 model against the fp32 model QAT started from, on samples never trained on.
void evaluate_export(const TrainConfig& cfg, QatModels& q, Progress& prog) {
  if (cfg.eval_data.empty()) return;
  TQ_CHECK(std::filesystem::is_regular_file(cfg.eval_data), "{}: data.eval: no such file '{}'", cfg.path,
           cfg.eval_data);
  NamedTensors arrays = read_npz(cfg.eval_data);
  NamedTensors data{
      {q.int8.graph.inputs[0].name, find_array(arrays, cfg.input_array, cfg.eval_data, "data.input")}};
  quant::CompareOptions co;
  co.threads = cfg.threads;
  if (!cfg.target_array.empty())
    for (const auto& [n, t] : arrays)
      if (n == cfg.target_array) {
        data.emplace_back("tinyqat.target", t);
        co.target = "tinyqat.target";
      }
  quant::Comparison c = quant::compare_models(q.start, q.int8, data, co);
  TrainResult& r = q.result;
  r.eval_samples = c.samples;
  r.eval_plcc_drop = 0;
  for (const auto& o : c.outputs) r.eval_plcc_drop = std::max(r.eval_plcc_drop, o.plcc_drop);
  const auto& o = c.outputs[0];
  if (o.ref_target_psnr)
    r.eval_fp32_target_psnr = *o.ref_target_psnr, r.eval_int8_target_psnr = *o.cand_target_psnr;
  prog.line(fmt::format("eval ({}, {} samples): int8 vs the fp32 model QAT started from: PLCC drop {:.3e}{}",
                        cfg.eval_data, c.samples, r.eval_plcc_drop,
                        o.ref_target_psnr
                            ? fmt::format("; PSNR vs '{}' {:.3f} dB (fp32) → {:.3f} dB (int8)",
                                          cfg.target_array, *o.ref_target_psnr, *o.cand_target_psnr)
                            : std::string()));
}

TrainResult qat_impl(const TrainConfig& cfg, const RunOptions& opt) {
  TQ_CHECK(!opt.output.empty(), "qat: no output path given");
  QatModels q = qat_models_impl(cfg, opt);
  q.result.int8_path = opt.output;
  q.result.fp32_path = opt.fp32_output.empty() ? int8_sibling(opt.output, ".fp32.onnx") : opt.fp32_output;
  // Several ranks: rank 0 alone measures and writes.
  if (dist::rank() != 0) return q.result;
  Progress summary(false);  // part of the summary: printed with --quiet too
  evaluate_export(cfg, q, summary);
  for (const auto& t : q.result.test) report_test(summary, t, q.result.split);
  // Both serialized (and checked) before either is written: nothing half-written on an error.
  auto int8_bytes = export_onnx_bytes(q.int8), fp32_bytes = export_onnx_bytes(q.fp32);
  check_onnx(q.int8);
  check_onnx(q.fp32);
  write_file_atomic(q.result.fp32_path, fp32_bytes);
  write_file_atomic(q.result.int8_path, int8_bytes);
  drop_resume_state(opt);
  return q.result;
}

}  // namespace

}  // namespace tinyqat::train
