#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "core/sha256.h"

namespace tinyqat::train {

namespace {

struct Reader {
  const std::string& file;

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    fail("{}: {}: {}", file, key, what);
  }

  void keys(const YAML::Node& n, const std::string& where, const std::set<std::string>& accepted) const {
    if (!n.IsMap()) bad(where.empty() ? "(top level)" : where, "must be a mapping of key: value");
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      if (!accepted.count(k))
        bad(where.empty() ? k : where + "." + k,
            fmt::format("unknown key (accepted here: {})", fmt::join(accepted, ", ")));
    }
  }
  template <class T>
  T get(const YAML::Node& n, const std::string& key, const T& def) const {
    if (!n[key]) return def;
    try {
      return n[key].as<T>();
    } catch (const YAML::Exception&) {
      bad(key, fmt::format("'{}' is not a valid value", YAML::Dump(n[key])));
    }
  }
};

struct ForkDefaults {
  std::string loss;
  double lr, weight_decay;
};
// The fork's module defaults (ai/model_*.py: the loss of training_step, configure_optimizers' AdamW).
ForkDefaults fork_defaults(const std::string& kind) {
  if (kind == "fr_regressor") return {"mse", 1e-3, 1e-5};
  if (kind == "nr_metric") return {"mse", 1e-3, 1e-4};
  if (kind == "learned_filter") return {"l1", 1e-4, 0.01};
  return {"l1", 1e-3, 0};  // tinyqat's own defaults (mlp, init:)
}

zoo::Arg to_arg(const YAML::Node& v, const Reader& r, const std::string& key) {
  zoo::Arg a;
  auto num = [&](const YAML::Node& x) {
    try {
      return x.as<double>();
    } catch (const YAML::Exception&) {
      r.bad(key, fmt::format("'{}' is not a number", YAML::Dump(x)));
    }
  };
  if (v.IsSequence()) {
    for (const auto& x : v) a.numbers.push_back(num(x));
  } else if (v.IsScalar()) {
    try {
      a.numbers.push_back(v.as<double>());
    } catch (const YAML::Exception&) {
      a.is_text = true;
      a.text = v.as<std::string>();
    }
  } else {
    r.bad(key, "must be a number, a list of numbers or a word");
  }
  return a;
}

TrainConfig read_config(const std::string& path) {
  std::error_code ec;
  TQ_CHECK(std::filesystem::is_regular_file(path, ec), "{}: no such config file", path);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    fail("{}: not valid YAML: {}", path, e.what());
  }
  Reader r{path};
  r.keys(root, "",
         {"model", "model_args", "init", "data", "cache", "output", "epochs", "batch_size", "lr",
          "weight_decay", "optimizer", "val_frac", "test_frac", "seed", "loss", "precision", "qat"});
  TrainConfig c;
  c.path = path;
  c.model = r.get<std::string>(root, "model", "");
  c.init = r.get<std::string>(root, "init", "");
  // The fork keeps the optimizer's lr and weight_decay among the model's arguments (Lightning hparams).
  std::optional<double> lr, weight_decay;
  if (root["model_args"]) {
    const YAML::Node a = root["model_args"];
    if (!a.IsMap()) r.bad("model_args", "must be a mapping of argument: value");
    for (const auto& kv : a) {
      const std::string k = kv.first.as<std::string>();
      if (k == "lr" || k == "weight_decay") {
        if (root[k]) r.bad("model_args." + k, fmt::format("given twice (also the top-level {}:)", k));
        (k == "lr" ? lr : weight_decay) = r.get<double>(a, k, 0);
        continue;
      }
      c.model_args[k] = to_arg(kv.second, r, "model_args." + k);
    }
  }
  if (root["data"] && root["cache"])
    r.bad("cache", "give data: (.npz sets by array name) or cache: (the fork's caches), not both");
  if (!root["data"] && !root["cache"])
    r.bad("data",
          "missing (data: {train: FILE.npz, input: ARRAY, target: ARRAY}, or the fork's cache: FILE)");
  if (root["data"]) {
    const YAML::Node d = root["data"];
    r.keys(d, "data", {"train", "eval", "input", "target"});
    c.train_data = r.get<std::string>(d, "train", "");
    c.eval_data = r.get<std::string>(d, "eval", "");
    c.input_array = r.get<std::string>(d, "input", "");
    c.target_array = r.get<std::string>(d, "target", "");
  }
  c.cache = r.get<std::string>(root, "cache", "");
  c.output_dir = r.get<std::string>(root, "output", "");
  if (!c.cache.empty() || c.model == "fr_regressor") {
    // The fork's training recipe where its config leaves it to the module: each kind's loss, and torch's
    // AdamW weight decay (0.01) for learned_filter, whose module passes none.
    const auto d = fork_defaults(c.model);
    c.loss = d.loss;
    c.weight_decay = d.weight_decay;
    c.lr = d.lr;
  }
  c.epochs = r.get<int>(root, "epochs", c.epochs);
  c.batch_size = r.get<int>(root, "batch_size", c.batch_size);
  c.lr = lr.value_or(r.get<double>(root, "lr", c.lr));
  c.weight_decay = weight_decay.value_or(r.get<double>(root, "weight_decay", c.weight_decay));
  c.optimizer = r.get<std::string>(root, "optimizer", c.optimizer);
  c.val_frac = r.get<double>(root, "val_frac", c.val_frac);
  c.test_frac = r.get<double>(root, "test_frac", c.test_frac);
  c.seed = r.get<uint64_t>(root, "seed", c.seed);
  c.loss = r.get<std::string>(root, "loss", c.loss);
  c.precision = r.get<std::string>(root, "precision", c.precision);
  c.qat.epochs_fp32 = c.epochs;
  if (root["qat"]) {
    const YAML::Node q = root["qat"];
    r.keys(q, "qat",
           {"epochs_fp32", "epochs_qat", "lr_qat", "input_shape", "input_name", "output_name",
            "n_calibration", "qconfig", "init_ranges", "freeze_observers_epoch", "freeze_bn_epoch", "lsq",
            "averaging", "drift_penalty", "keep_best", "exclude", "smoke", "quantize_outputs"});
    QatConfig& a = c.qat;
    a.epochs_fp32 = r.get<int>(q, "epochs_fp32", a.epochs_fp32);
    a.epochs_qat = r.get<int>(q, "epochs_qat", a.epochs_qat);
    a.lr_qat = r.get<double>(q, "lr_qat", a.lr_qat);
    a.input_shape = r.get<std::vector<int64_t>>(q, "input_shape", a.input_shape);
    a.input_name = r.get<std::string>(q, "input_name", a.input_name);
    a.output_name = r.get<std::string>(q, "output_name", a.output_name);
    a.n_calibration = r.get<int>(q, "n_calibration", a.n_calibration);
    a.qconfig = r.get<std::string>(q, "qconfig", a.qconfig);
    a.init_ranges = r.get<std::string>(q, "init_ranges", a.init_ranges);
    a.freeze_observers_epoch = r.get<int>(q, "freeze_observers_epoch", a.freeze_observers_epoch);
    a.freeze_bn_epoch = r.get<int>(q, "freeze_bn_epoch", a.freeze_bn_epoch);
    a.lsq = r.get<bool>(q, "lsq", a.lsq);
    a.averaging = r.get<double>(q, "averaging", a.averaging);
    a.drift_penalty = r.get<double>(q, "drift_penalty", a.drift_penalty);
    a.keep_best = r.get<bool>(q, "keep_best", a.keep_best);
    a.exclude = r.get<std::vector<std::string>>(q, "exclude", a.exclude);
    a.smoke = r.get<bool>(q, "smoke", a.smoke);
    a.quantize_outputs = r.get<bool>(q, "quantize_outputs", a.quantize_outputs);
  }
  validate(c);
  return c;
}

}  // namespace

TrainConfig load_config(const std::string& path) {
  // Every yaml-cpp failure past the parse (a complex key such as `{[1, 2]: 3}` read as a string, a node
  // of the wrong kind) becomes one line naming the file and the place.
  try {
    return read_config(path);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) fail("{}: {}", path, e.msg);
    fail("{}: line {}, column {}: {} (a key or value of the wrong kind)", path, e.mark.line + 1,
         e.mark.column + 1, e.msg);
  }
}

void validate(const TrainConfig& c) {
  const std::string& f = c.path;
  auto check = [&](bool ok, const std::string& key, const std::string& what) {
    if (!ok) fail("{}: {}: {}", f, key, what);
  };
  check(c.model.empty() != c.init.empty(), "model",
        "give exactly one of model: KIND (the zoo) or init: FP32.onnx");
  if (!c.model.empty()) {
    auto k = zoo::kinds();
    check(std::find(k.begin(), k.end(), c.model) != k.end(), "model",
          fmt::format("unknown model kind '{}' (the zoo has: {})", c.model, fmt::join(k, ", ")));
  }
  check(c.init.empty() || c.model_args.empty(), "model_args",
        "only with model: (init: takes its architecture from the file)");
  check(!c.cache.empty() || !c.train_data.empty(), "data.train", "missing: the .npz training set");
  check(!c.cache.empty() || !c.input_array.empty(), "data.input",
        "missing: the name of the model-input array in the data");
  check(c.cache.empty() || c.loss != "distill", "loss",
        "distill goes with data: (a cache's target is its label)");
  check(c.loss == "l1" || c.loss == "mse" || c.loss == "distill", "loss",
        fmt::format("'{}' is not l1, mse or distill", c.loss));
  check(c.loss == "distill" || !c.cache.empty() || !c.target_array.empty(), "data.target",
        "missing: the label array (or use loss: distill to train against the fp32 model's own outputs)");
  check(c.optimizer == "adamw" || c.optimizer == "adam" || c.optimizer == "sgd", "optimizer",
        fmt::format("'{}' is not adamw, adam or sgd", c.optimizer));
  check(c.epochs >= 0 && c.qat.epochs_fp32 >= 0 && c.qat.epochs_qat >= 0, "epochs", "must be 0 or more");
  check(c.batch_size >= 1 && c.batch_size <= 65536, "batch_size", "must be 1..65536");
  check(c.lr > 0 && std::isfinite(c.lr), "lr", "must be positive");
  check(c.qat.lr_qat < 0 || (c.qat.lr_qat > 0 && std::isfinite(c.qat.lr_qat)), "qat.lr_qat",
        "must be positive");
  check(c.weight_decay >= 0, "weight_decay", "must be 0 or more");
  check(c.val_frac >= 0 && c.val_frac < 1, "val_frac", "must be in [0, 1)");
  check(c.test_frac >= 0 && c.test_frac < 1 && c.val_frac + c.test_frac < 1, "test_frac",
        "must be in [0, 1), and val_frac + test_frac below 1");
  check(c.test_frac == 0 || c.loss != "distill", "test_frac",
        "a test split needs labels (not loss: distill)");
  check(c.precision == "32-true" || c.precision == "32" || c.precision == "16-mixed" || c.precision == "16" ||
            c.precision == "bf16-mixed" || c.precision == "bf16",
        "precision",
        fmt::format(
            "'{}' is not 32-true, 16-mixed or bf16-mixed (64-true and the *-true half precisions are not "
            "supported)",
            c.precision));
  check(c.qat.n_calibration >= 1, "qat.n_calibration", "must be 1 or more");
  check(c.qat.qconfig == "symmetric" || c.qat.qconfig == "asymmetric", "qat.qconfig",
        fmt::format("'{}' is not symmetric or asymmetric", c.qat.qconfig));
  try {
    quant::parse_method(c.qat.init_ranges);
  } catch (const Error&) {
    check(false, "qat.init_ranges",
          fmt::format("'{}' is not minmax, percentile, entropy or mse", c.qat.init_ranges));
  }
  check(c.qat.averaging > 0 && c.qat.averaging <= 1, "qat.averaging", "must be in (0, 1]");
  check(c.qat.drift_penalty >= 0, "qat.drift_penalty", "must be 0 or more");
  check(c.device == "cpu" || c.device == "cuda" || c.device.rfind("cuda:", 0) == 0, "--device",
        fmt::format("'{}' is not cpu, cuda or cuda:N", c.device));
  check(c.threads >= 1 && c.threads <= 256, "--threads", "must be 1..256");
}

std::string TrainConfig::canonical() const {
  std::vector<std::string> l;
  l.push_back("model=" + model);
  for (const auto& [k, a] : model_args)
    l.push_back(fmt::format("model_args.{}={}", k,
                            a.is_text ? a.text : fmt::format("{}", fmt::join(a.numbers, ","))));
  l.push_back("init=" + (init.empty() ? std::string() : std::filesystem::path(init).filename().string()));
  l.push_back("data.input=" + input_array);
  l.push_back("data.target=" + target_array);
  l.push_back(fmt::format("epochs_fp32={}", qat.epochs_fp32));
  l.push_back(fmt::format("batch_size={}", batch_size));
  l.push_back(fmt::format("lr={}", lr));
  l.push_back(fmt::format("weight_decay={}", weight_decay));
  l.push_back("optimizer=" + optimizer);
  l.push_back(fmt::format("val_frac={}", val_frac));
  l.push_back(fmt::format("seed={}", seed));
  l.push_back("loss=" + loss);
  l.push_back(fmt::format("qat.epochs_qat={}", qat.epochs_qat));
  l.push_back(fmt::format("qat.lr_qat={}", qat_lr()));
  l.push_back(fmt::format("qat.n_calibration={}", qat.n_calibration));
  l.push_back("qat.qconfig=" + qat.qconfig);
  l.push_back("qat.init_ranges=" + qat.init_ranges);
  l.push_back(fmt::format("qat.freeze_observers_epoch={}", qat.freeze_observers_epoch));
  l.push_back(fmt::format("qat.freeze_bn_epoch={}", qat.freeze_bn_epoch));
  l.push_back(fmt::format("qat.lsq={}", qat.lsq));
  l.push_back(fmt::format("qat.averaging={}", qat.averaging));
  l.push_back(fmt::format("qat.drift_penalty={}", qat.drift_penalty));
  l.push_back(fmt::format("qat.keep_best={}", qat.keep_best));
  l.push_back(fmt::format("qat.exclude={}", fmt::join(qat.exclude, ",")));
  l.push_back("qat.input_name=" + qat.input_name);
  l.push_back("qat.output_name=" + qat.output_name);
  // Keys added for the fork's configs: listed only when set, so that the hash of every config written
  // before them is unchanged.
  if (!cache.empty()) l.push_back("cache=" + std::filesystem::path(cache).filename().string());
  if (test_frac > 0) l.push_back(fmt::format("test_frac={}", test_frac));
  if (precision != "32-true" && precision != "32") l.push_back("precision=" + precision);
  if (qat.quantize_outputs) l.push_back("qat.quantize_outputs=true");
  return fmt::format("{}\n", fmt::join(l, "\n"));
}

std::string TrainConfig::hash() const {
  const std::string c = canonical();
  return sha256_hex(c.data(), c.size());
}

}  // namespace tinyqat::train
