// The zoo by name, with the fork's argument names (model / model_args in a training config).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "zoo/zoo.h"

namespace tinyqat::zoo {

namespace {

struct Reader {
  const std::string& kind;
  const Args& args;
  std::vector<std::string> known;

  const Arg* find(const std::string& key) {
    known.push_back(key);
    auto it = args.find(key);
    return it == args.end() ? nullptr : &it->second;
  }
  int64_t integer(const std::string& key, int64_t def, int64_t lo, int64_t hi) {
    const Arg* a = find(key);
    if (!a) return def;
    TQ_CHECK(!a->is_text && a->numbers.size() == 1, "{}: model_args.{} must be one integer", kind, key);
    const double v = a->numbers[0];
    TQ_CHECK(v == std::floor(v) && v >= lo && v <= hi, "{}: model_args.{} = {} is not an integer in {}..{}",
             kind, key, v, lo, hi);
    return static_cast<int64_t>(v);
  }
  std::vector<double> numbers(const std::string& key, std::vector<double> def) {
    const Arg* a = find(key);
    if (!a) return def;
    TQ_CHECK(!a->is_text, "{}: model_args.{} must be a list of numbers", kind, key);
    return a->numbers;
  }
  std::string word(const std::string& key, const std::string& def) {
    const Arg* a = find(key);
    if (!a) return def;
    TQ_CHECK(a->is_text, "{}: model_args.{} must be a word", kind, key);
    return a->text;
  }
  void finish() {
    for (const auto& [k, v] : args)
      TQ_CHECK(std::find(known.begin(), known.end(), k) != known.end(),
               "{}: unknown model argument '{}' (accepted: {})", kind, k, fmt::join(known, ", "));
  }
};

}  // namespace

std::vector<std::string> kinds() {
  return {"learned_filter", "nr_metric", "mlp", "fr_regressor", "unet"};
}

Model build(const std::string& kind, const Args& args, uint64_t seed) {
  Reader r{kind, args, {}};
  // The fork's modules also take emit_variance (a second, log-variance output trained with Gaussian NLL)
  // and fr_regressor num_codecs (a second input): accepted at their defaults only.
  auto fork_only_defaults = [&] {
    if (const Arg* a = r.find("emit_variance"))
      TQ_CHECK(
          a->is_text ? (a->text == "false" || a->text == "False") : a->numbers == std::vector<double>{0},
          "{}: model_args.emit_variance: true is not supported (the variance head and Gaussian NLL loss)",
          kind);
  };
  if (kind == "learned_filter") {
    const int64_t c = r.integer("channels", 1, 1, 64), w = r.integer("width", 16, 1, 1024),
                  n = r.integer("num_blocks", 4, 0, 64);
    r.finish();
    return learned_filter(c, w, n, seed);
  }
  if (kind == "nr_metric") {
    const int64_t c = r.integer("in_channels", 1, 1, 64), w = r.integer("width", 16, 1, 1024);
    fork_only_defaults();
    r.finish();
    return nr_metric(c, w, seed);
  }
  if (kind == "unet") {
    const int64_t c = r.integer("in_channels", 3, 1, 64), w = r.integer("width", 16, 1, 1024);
    r.finish();
    return unet(c, w, seed);
  }
  if (kind == "fr_regressor") {
    const int64_t in = r.integer("in_features", 7, 1, 1 << 20), hidden = r.integer("hidden", 64, 1, 1 << 20),
                  depth = r.integer("depth", 2, 0, 64);
    double dropout = 0.1;
    if (const Arg* a = r.find("dropout")) {
      TQ_CHECK(!a->is_text && a->numbers.size() == 1, "fr_regressor: model_args.dropout must be one number");
      dropout = a->numbers[0];
    }
    TQ_CHECK(r.integer("num_codecs", 0, 0, 1 << 20) == 0,
             "fr_regressor: model_args.num_codecs > 0 (a second, codec one-hot input) is not supported");
    fork_only_defaults();
    r.finish();
    return fr_regressor(in, hidden, depth, dropout, seed);
  }
  if (kind == "mlp") {
    const int64_t in = r.integer("in_features", 6, 1, 1 << 20);
    std::vector<int64_t> hidden;
    for (double v : r.numbers("hidden", {64, 32, 16})) {
      TQ_CHECK(v == std::floor(v) && v >= 1 && v <= (1 << 20),
               "mlp: model_args.hidden holds {}, not a layer size", v);
      hidden.push_back(static_cast<int64_t>(v));
    }
    const std::string act = r.word("activation", "relu");
    auto to_f = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
    auto mean = to_f(r.numbers("input_mean", std::vector<double>(in, 0.0)));
    auto sd = to_f(r.numbers("input_std", std::vector<double>(in, 1.0)));
    r.finish();
    return mlp(in, hidden, act, mean, sd, seed);
  }
  fail("unknown model kind '{}' (the zoo has: {})", kind, fmt::join(kinds(), ", "));
}

}  // namespace tinyqat::zoo
