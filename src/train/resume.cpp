#include "train/resume.h"

#include <cstring>
#include <limits>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "core/json_dump.h"
#include "core/model_paths.h"
#include "core/sha256.h"

namespace tinyqat::train {

namespace {

using Json = nlohmann::json;
using torch::serialize::InputArchive;
using torch::serialize::OutputArchive;

constexpr const char* kMagic = "tinyqat-resume 1 ";
constexpr int kFormat = 1;

// Doubles and floats travel as their bit patterns: exact, NaN and infinities included.
uint64_t bits(double v) {
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
double from_bits(uint64_t b) {
  double v = 0;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// An integer of the meta record: a JSON integer within T's range (nlohmann's get<T>() casts a float of
// any size, undefined past T's range, and wraps integers).
template <typename T>
T integer_field(const Json& v, const std::string& file) {
  const bool ok = v.is_number_unsigned()  ? std::in_range<T>(v.get<uint64_t>())
                  : v.is_number_integer() ? std::in_range<T>(v.get<int64_t>())
                                          : false;
  TQ_CHECK(ok, "{}: resume state: {} is not an integer in [{}, {}]", file, json_dump(v),
           std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  return v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
}

std::vector<uint8_t> archive_bytes(OutputArchive& ar) {
  std::ostringstream os;
  ar.save_to(os);
  const std::string s = os.str();
  return {s.begin(), s.end()};
}

torch::Tensor bytes_tensor(const void* data, size_t n) {
  auto t = torch::empty({static_cast<int64_t>(n)}, torch::kUInt8);
  if (n > 0) std::memcpy(t.data_ptr(), data, n);
  return t;
}

std::vector<uint8_t> tensor_bytes(const torch::Tensor& t, const std::string& what, const std::string& file) {
  TQ_CHECK(t.defined() && t.scalar_type() == torch::kUInt8 && t.dim() == 1,
           "{}: resume state: {} is malformed", file, what);
  auto c = t.contiguous();
  const auto* p = c.data_ptr<uint8_t>();
  return {p, p + c.numel()};
}

void put_model_state(OutputArchive& ar, Json& meta, const std::string& key, const TrainableModel::State& s) {
  Json names = Json::array(), quants = Json::array();
  int i = 0;
  for (const auto& [name, t] : s.values) {
    names.push_back(name);
    ar.write(fmt::format("{}/v{}", key, i++), t.detach().cpu().contiguous());
  }
  for (size_t k = 0; k < s.quants.size(); ++k) {
    const ActQuant& q = s.quants[k];
    quants.push_back({{"scheme", static_cast<int>(q.scheme)},
                      {"averaging", bits(q.averaging)},
                      {"initialized", q.initialized},
                      {"frozen", q.frozen},
                      {"lo", bits(q.lo)},
                      {"hi", bits(q.hi)},
                      {"learnable", q.learnable}});
    if (q.learnable) {
      ar.write(fmt::format("{}/q{}s", key, k), q.scale.detach().cpu().contiguous());
      ar.write(fmt::format("{}/q{}z", key, k), q.zero_point.detach().cpu().contiguous());
    }
  }
  meta[key] = {{"values", names}, {"quants", quants}};
}

torch::Tensor read_tensor(InputArchive& ar, const std::string& key, const std::string& file) {
  torch::Tensor t;
  TQ_CHECK(ar.try_read(key, t) && t.defined(), "{}: resume state: tensor '{}' is missing", file, key);
  return t;
}

TrainableModel::State get_model_state(InputArchive& ar, const Json& meta, const std::string& key,
                                      const std::string& file) {
  TrainableModel::State s;
  const Json& j = meta.at(key);
  int i = 0;
  for (const auto& name : j.at("values"))
    s.values[name.get<std::string>()] = read_tensor(ar, fmt::format("{}/v{}", key, i++), file);
  size_t k = 0;
  for (const auto& x : j.at("quants")) {
    ActQuant q;
    const int scheme = integer_field<int>(x.at("scheme"), file);
    TQ_CHECK(scheme == 0 || scheme == 1, "{}: resume state: activation scheme {} is unknown", file, scheme);
    q.scheme = static_cast<quant::ActScheme>(scheme);
    q.averaging = from_bits(integer_field<uint64_t>(x.at("averaging"), file));
    q.initialized = x.at("initialized").get<bool>();
    q.frozen = x.at("frozen").get<bool>();
    q.lo = static_cast<float>(from_bits(integer_field<uint64_t>(x.at("lo"), file)));
    q.hi = static_cast<float>(from_bits(integer_field<uint64_t>(x.at("hi"), file)));
    q.learnable = x.at("learnable").get<bool>();
    if (q.learnable) {
      q.scale = read_tensor(ar, fmt::format("{}/q{}s", key, k), file);
      q.zero_point = read_tensor(ar, fmt::format("{}/q{}z", key, k), file);
    }
    s.quants.push_back(std::move(q));
    ++k;
  }
  return s;
}

}  // namespace

std::vector<uint8_t> optimizer_bytes(torch::optim::Optimizer& optim) {
  OutputArchive ar;
  optim.save(ar);
  return archive_bytes(ar);
}

void load_optimizer(torch::optim::Optimizer& optim, const std::vector<uint8_t>& bytes,
                    const std::string& file) {
  InputArchive ar;
  try {
    ar.load_from(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    optim.load(ar);
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    fail("{}: resume state: the optimizer's state does not fit this run: {}", file,
         msg.substr(0, msg.find('\n')));
  }
}

void write_resume_state(const std::string& path, const ResumeState& s) {
  OutputArchive ar;
  Json meta;
  meta["format"] = kFormat;
  meta["command"] = s.command;
  meta["config_hash"] = s.config_hash;
  meta["start_digest"] = s.start_digest;
  meta["device"] = s.device;
  meta["threads"] = s.threads;
  meta["world_size"] = s.world_size;
  meta["smoke"] = s.smoke;
  meta["samples"] = {s.train_samples, s.val_samples, s.test_samples};
  meta["phase"] = s.phase;
  meta["epoch"] = s.epoch;
  put_model_state(ar, meta, "model", s.model);
  meta["has_qat"] = s.has_qat;
  if (s.has_qat) {
    put_model_state(ar, meta, "fp32_end", s.fp32_end);
    put_model_state(ar, meta, "best_state", s.best_state);
    meta["best"] = bits(s.best);
    meta["best_epoch"] = s.best_epoch;
  }
  meta["loss_scaler"] = {bits(s.loss_scale), s.good_steps, s.skipped_in_a_row};
  Json epochs = Json::array();
  for (const auto& e : s.epochs)
    epochs.push_back({e.phase, e.epoch, bits(e.train_loss), bits(e.val_loss), bits(e.seconds), e.steps,
                      bits(e.comm_seconds)});
  meta["epochs"] = epochs;
  ar.write("optimizer", bytes_tensor(s.optimizer.data(), s.optimizer.size()));
  ar.write("rng", s.rng.cpu().contiguous());
  const std::string m = json_dump(meta);
  ar.write("meta", bytes_tensor(m.data(), m.size()));
  const std::vector<uint8_t> body = archive_bytes(ar);
  std::string out = kMagic + sha256_hex(body) + "\n";
  out.append(reinterpret_cast<const char*>(body.data()), body.size());
  write_file_atomic(path, out);
}

ResumeState read_resume_state(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  const size_t magic = std::strlen(kMagic), head = magic + 64 + 1;
  TQ_CHECK(bytes.size() >= magic && std::memcmp(bytes.data(), kMagic, magic) == 0,
           "{}: not a resume state (a run writes OUT.resume after every epoch); to start QAT from an fp32 "
           "model, use --init {}",
           path, path);
  TQ_CHECK(bytes.size() > head && bytes[head - 1] == '\n', "{}: resume state: truncated header", path);
  const std::string digest(bytes.begin() + static_cast<std::ptrdiff_t>(magic),
                           bytes.begin() + static_cast<std::ptrdiff_t>(head - 1));
  TQ_CHECK(sha256_hex(bytes.data() + head, bytes.size() - head) == digest,
           "{}: resume state: the contents do not match their SHA-256 (truncated or altered)", path);
  ResumeState s;
  try {
    InputArchive ar;
    ar.load_from(reinterpret_cast<const char*>(bytes.data() + head), bytes.size() - head);
    const std::vector<uint8_t> mb = tensor_bytes(read_tensor(ar, "meta", path), "meta", path);
    const Json meta = Json::parse(mb.begin(), mb.end());
    TQ_CHECK(integer_field<int>(meta.at("format"), path) == kFormat, "{}: resume state: format {} is not {}",
             path, json_dump(meta.at("format")), kFormat);
    s.command = meta.at("command").get<std::string>();
    s.config_hash = meta.at("config_hash").get<std::string>();
    s.start_digest = meta.at("start_digest").get<std::string>();
    s.device = meta.at("device").get<std::string>();
    s.threads = integer_field<int>(meta.at("threads"), path);
    s.world_size = integer_field<int>(meta.at("world_size"), path);
    s.smoke = meta.at("smoke").get<bool>();
    const Json& n = meta.at("samples");
    s.train_samples = integer_field<int64_t>(n.at(0), path);
    s.val_samples = integer_field<int64_t>(n.at(1), path);
    s.test_samples = integer_field<int64_t>(n.at(2), path);
    s.phase = meta.at("phase").get<std::string>();
    TQ_CHECK(s.phase == "fp32" || s.phase == "qat", "{}: resume state: phase '{}' is unknown", path, s.phase);
    s.epoch = integer_field<int>(meta.at("epoch"), path);
    TQ_CHECK(s.epoch >= 0, "{}: resume state: epoch {} is negative", path, s.epoch);
    s.model = get_model_state(ar, meta, "model", path);
    s.has_qat = meta.at("has_qat").get<bool>();
    TQ_CHECK(s.has_qat == (s.phase == "qat"), "{}: resume state: the QAT bookkeeping does not match phase {}",
             path, s.phase);
    if (s.has_qat) {
      s.fp32_end = get_model_state(ar, meta, "fp32_end", path);
      s.best_state = get_model_state(ar, meta, "best_state", path);
      s.best = from_bits(integer_field<uint64_t>(meta.at("best"), path));
      s.best_epoch = integer_field<int>(meta.at("best_epoch"), path);
    }
    const Json& sc = meta.at("loss_scaler");
    s.loss_scale = from_bits(integer_field<uint64_t>(sc.at(0), path));
    s.good_steps = integer_field<int>(sc.at(1), path);
    s.skipped_in_a_row = integer_field<int>(sc.at(2), path);
    for (const auto& e : meta.at("epochs")) {
      EpochLog l;
      l.phase = e.at(0).get<std::string>();
      l.epoch = integer_field<int>(e.at(1), path);
      l.train_loss = from_bits(integer_field<uint64_t>(e.at(2), path));
      l.val_loss = from_bits(integer_field<uint64_t>(e.at(3), path));
      l.seconds = from_bits(integer_field<uint64_t>(e.at(4), path));
      l.steps = integer_field<int64_t>(e.at(5), path);
      l.comm_seconds = from_bits(integer_field<uint64_t>(e.at(6), path));
      s.epochs.push_back(l);
    }
    s.optimizer = tensor_bytes(read_tensor(ar, "optimizer", path), "optimizer", path);
    s.rng = read_tensor(ar, "rng", path);
    TQ_CHECK(s.rng.scalar_type() == torch::kUInt8 && s.rng.dim() == 2 && s.rng.size(0) == s.world_size,
             "{}: resume state: the random generator states are malformed", path);
  } catch (const Json::exception& e) {
    fail("{}: resume state: {}", path, e.what());
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    fail("{}: resume state: {}", path, msg.substr(0, msg.find('\n')));
  }
  return s;
}

std::string resume_state_path(const std::string& output) {
  return int8_sibling(output, ".resume");
}

}  // namespace tinyqat::train
