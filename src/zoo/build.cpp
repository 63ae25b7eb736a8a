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
  return {"learned_filter", "nr_metric", "mlp"};
}

Model build(const std::string& kind, const Args& args, uint64_t seed) {
  Reader r{kind, args, {}};
  if (kind == "learned_filter") {
    const int64_t c = r.integer("channels", 1, 1, 64), w = r.integer("width", 16, 1, 1024),
                  n = r.integer("num_blocks", 4, 0, 64);
    r.finish();
    return learned_filter(c, w, n, seed);
  }
  if (kind == "nr_metric") {
    const int64_t c = r.integer("in_channels", 1, 1, 64), w = r.integer("width", 16, 1, 1024);
    r.finish();
    return nr_metric(c, w, seed);
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
