#include "quant/ladder.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_dump.h"
#include "onnx/onnx_io.h"
#include "quant/compare.h"
#include "quant/ptq.h"
#include "quant/sensitivity.h"
#include "runtime/executor.h"
#include "runtime/latency.h"

namespace tinyqat::quant {

Objective parse_objective(const std::string& s) {
  if (s == "latency") return Objective::Latency;
  if (s == "accuracy") return Objective::Accuracy;
  if (s == "size") return Objective::Size;
  if (s == "effort") return Objective::Effort;
  fail("--objective '{}': expected latency, accuracy, size or effort", s);
}

const char* name(Objective o) {
  switch (o) {
    case Objective::Latency:
      return "latency";
    case Objective::Accuracy:
      return "accuracy";
    case Objective::Size:
      return "size";
    case Objective::Effort:
      return "effort";
  }
  return "?";
}

namespace {

bool slower_than_fp32(const Rung& r, std::optional<double> fp32_ms) {
  return fp32_ms && r.latency_ms && *r.latency_ms > *fp32_ms;
}

bool kept_candidate(const Rung& r) {
  return r.tried && r.within && r.drop;
}

// The value `objective` minimises (latency and size: +inf when unknown).
double key_of(const Rung& r, Objective o) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  switch (o) {
    case Objective::Latency:
      return r.latency_ms.value_or(inf);
    case Objective::Size:
      return r.size_bytes ? static_cast<double>(*r.size_bytes) : inf;
    case Objective::Accuracy:
      return r.drop.value_or(inf);
    case Objective::Effort:
      return 0;
  }
  return 0;
}

const char* objective_rule(Objective o) {
  switch (o) {
    case Objective::Latency:
      return "the fastest rung within the budget";
    case Objective::Accuracy:
      return "the smallest drop within the budget";
    case Objective::Size:
      return "the smallest file within the budget";
    case Objective::Effort:
      return "the first rung within the budget, in ladder order";
  }
  return "";
}

}  // namespace

int choose_rung(const std::vector<Rung>& rungs, std::optional<double> fp32_latency_ms, Objective objective) {
  std::vector<int> cand;
  for (size_t i = 0; i < rungs.size(); ++i)
    if (kept_candidate(rungs[i])) cand.push_back(static_cast<int>(i));
  if (cand.empty()) return -1;
  const bool any_fast = std::any_of(cand.begin(), cand.end(),
                                    [&](int i) { return !slower_than_fp32(rungs[i], fp32_latency_ms); });
  if (any_fast)
    cand.erase(std::remove_if(cand.begin(), cand.end(),
                              [&](int i) { return slower_than_fp32(rungs[i], fp32_latency_ms); }),
               cand.end());
  int best = cand.front();
  for (int i : cand)
    if (key_of(rungs[i], objective) < key_of(rungs[best], objective)) best = i;
  return best;
}

std::string reason_to_skip(const std::vector<Rung>& rungs, std::optional<double> fp32_latency_ms,
                           Objective objective, const std::string& next) {
  if (objective == Objective::Accuracy) return "";
  auto settled = [&](const Rung& r) { return kept_candidate(r) && !slower_than_fp32(r, fp32_latency_ms); };
  const auto stat =
      std::find_if(rungs.begin(), rungs.end(), [](const Rung& r) { return r.mode == "static" && r.tried; });
  const bool metric_known = objective == Objective::Size || fp32_latency_ms.has_value();
  if (objective == Objective::Effort || next == "static" || stat == rungs.end() || !metric_known) {
    if (next == "static" && objective != Objective::Effort) return "";  // cheap, and the fast form
    for (const Rung& r : rungs)
      if (settled(r)) return fmt::format("not needed: {} is within the budget", r.mode);
    return "";
  }
  // Latency / size: QAT has the static rung's form, and the mixed rung exists to bring static within the
  // budget with units in float (slower); once a rung within the budget matches static, neither is needed.
  const double bound = key_of(*stat, objective);
  for (const Rung& r : rungs)
    if (settled(r) && key_of(r, objective) <= bound)
      return fmt::format("not needed: {} is within the budget and {}", r.mode,
                         objective == Objective::Latency ? "as fast as static" : "as small as static");
  return "";
}

int smallest_k(int n, const std::function<bool(int)>& meets, std::vector<int>* asked) {
  auto ask = [&](int k) {
    if (asked) asked->push_back(k);
    return meets(k);
  };
  int lo = 0, hi = 0;  // lo: the largest k known to miss; hi: the smallest known to meet
  for (int k = 1; n > 0; k = std::min(2 * k, n)) {
    if (ask(k)) {
      hi = k;
      break;
    }
    lo = k;
    if (k == n) return 0;
  }
  if (hi == 0) return 0;
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    if (ask(mid))
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

namespace {

// The first sample of each input (the model's fixed batch when it has one), the data latency is timed on.
NamedTensors latency_feeds(const Model& m, const NamedTensors& eval) {
  int64_t batch = 1;
  for (const auto& in : m.graph.inputs)
    if (!in.shape.empty() && in.shape[0].is_known()) batch = std::max<int64_t>(1, in.shape[0].value);
  NamedTensors feeds;
  for (const auto& [name, t] : eval) feeds.emplace_back(name, t.rows(0, std::min(batch, t.dim(0))));
  return feeds;
}

}  // namespace

LadderResult run_ladder(const Model& fp32, const NamedTensors& eval, const NamedTensors& calibration,
                        const LadderOptions& opts) {
  TQ_CHECK(opts.budget >= 0 && opts.budget <= 1, "--budget {} is outside [0, 1]", opts.budget);
  TQ_CHECK(opts.latency_iterations >= 0 && opts.latency_warmup >= 0,
           "latency: iterations and warm-up runs must not be negative");
  auto say = [&](const std::string& line) {
    if (opts.progress) opts.progress(line);
  };
  LadderResult res;
  res.objective = opts.objective;
  std::vector<Model> models;  // parallel to res.rungs (empty for rungs skipped)
  NamedTensors feeds;
  if (opts.latency_iterations > 0 && !eval.empty()) feeds = latency_feeds(fp32, eval);
  auto latency_of = [&](const Model& m) -> std::optional<double> {
    if (feeds.empty()) return std::nullopt;
    Executor ex(m, ExecutorOptions{opts.threads});
    try {
      return time_runs(ex, feeds, opts.latency_warmup, opts.latency_iterations).median;
    } catch (const Error& e) {
      fail("evaluation data: {}", e.what());
    }
  };
  auto measure = [&](const Model& q) {
    try {
      return measure_drop(fp32, q, eval, opts.threads);
    } catch (const Error& e) {
      fail("evaluation data: {}", e.what());
    }
  };
  auto calibrate = [&](const QConfig& cfg) {
    try {
      return ptq_static(fp32, calibration, cfg, nullptr);
    } catch (const Error& e) {
      fail("calibration data: {}", e.what());
    }
  };
  res.fp32_size_bytes = static_cast<int64_t>(export_onnx_bytes(fp32).size());
  res.fp32_latency_ms = latency_of(fp32);
  auto add = [&](Rung r, const Model& q, const DropMeasurement& d) {
    r.tried = true;
    r.drop = d.drop;
    r.within = d.drop <= opts.budget;
    r.samples = d.comparison.samples;
    r.size_bytes = static_cast<int64_t>(export_onnx_bytes(q).size());
    r.latency_ms = latency_of(q);
    r.message = fmt::format("worst output '{}', {} samples", d.worst_output, d.comparison.samples);
    say(fmt::format("{} rung: PLCC drop {:.3e} ({} budget), {}", r.mode, d.drop, r.within ? "within" : "over",
                    r.latency_ms ? fmt::format("{:.3f} ms", *r.latency_ms) : "latency not measured"));
    res.rungs.push_back(std::move(r));
    models.push_back(q);
  };
  auto skip = [&](const std::string& mode, const std::string& why) {
    Rung r;
    r.mode = mode;
    r.message = why;
    res.rungs.push_back(std::move(r));
    models.emplace_back();
  };
  auto skip_reason = [&](const std::string& next) {
    return reason_to_skip(res.rungs, res.fp32_latency_ms, opts.objective, next);
  };

  {
    QConfig dyn_cfg;
    dyn_cfg.exclude = opts.static_config.exclude;
    Rung r;
    r.mode = "dynamic";
    const Model q = ptq_dynamic(fp32, dyn_cfg, nullptr);
    add(r, q, measure(q));
  }
  const std::string no_calibration = "skipped: no --calibration CALIB.npz";
  if (calibration.empty()) {
    skip("static", no_calibration);
  } else if (std::string why = skip_reason("static"); !why.empty()) {
    skip("static", why);
  } else {
    Rung r;
    r.mode = "static";
    const Model q = calibrate(opts.static_config);
    add(r, q, measure(q));
  }

  // Mixed: static PTQ with the k most sensitive units in float, k the smallest that meets the budget.
  if (calibration.empty()) {
    skip("mixed", no_calibration);
  } else if (!opts.mixed) {
    skip("mixed", "skipped (--no-mixed)");
  } else if (std::string why = skip_reason("mixed"); !why.empty()) {
    skip("mixed", why);
  } else {
    say("mixed rung: ranking the units by sensitivity...");
    Sensitivity s;
    try {
      s = sensitivity(fp32, calibration, eval, opts.static_config, opts.threads, [&](int done, int total) {
        say(fmt::format("mixed rung: sensitivity {}/{}", done, total));
      });
    } catch (const Error& e) {
      fail("mixed rung: {}", e.what());
    }
    const int n = static_cast<int>(s.units.size());
    if (n < 2) {
      skip("mixed", fmt::format("skipped: static PTQ quantizes {} Conv / Gemm / MatMul unit{} (keeping every "
                                "unit in float leaves nothing to quantize)",
                                n, n == 1 ? "" : "s"));
    } else {
      Rung r;
      r.mode = "mixed";
      r.units = n;
      std::vector<std::pair<Model, DropMeasurement>> by_k(n + 1);
      auto meets = [&](int k) {
        QConfig cfg = opts.static_config;
        for (int i = 0; i < k; ++i) cfg.exclude.insert(s.units[i].node);
        by_k[k].first = calibrate(cfg);
        by_k[k].second = measure(by_k[k].first);
        r.k_tried.emplace_back(k, by_k[k].second.drop);
        say(fmt::format("mixed rung: {} of {} units in float: PLCC drop {:.3e}", k, n, by_k[k].second.drop));
        return by_k[k].second.drop <= opts.budget;
      };
      // At least one unit stays quantized: a model with every unit in float is not an int8 model.
      int k = smallest_k(n - 1, meets);
      if (k == 0) k = n - 1;  // none meets: report the one with the most units in float
      for (int i = 0; i < k; ++i) r.kept_fp32.push_back(s.units[i].node);
      add(r, by_k[k].first, by_k[k].second);
      res.rungs.back().message +=
          fmt::format("; {} of {} units in float: {}", k, n, fmt::join(res.rungs.back().kept_fp32, ", "));
    }
  }

  auto skip_qat = [&](const std::string& why) { skip("qat", why); };
  if (!opts.qat) {
    skip_qat(opts.qat_unavailable);
  } else if (calibration.empty()) {
    skip_qat("skipped: no --calibration CALIB.npz (the QAT rung distills on it)");
  } else if (std::string why = skip_reason("qat"); !why.empty()) {
    skip_qat(why);
  } else if (std::string refused = opts.qat->refuses ? opts.qat->refuses(fp32) : std::string();
             !refused.empty()) {
    skip_qat("skipped: " + refused);
  } else {
    Rung r;
    r.mode = "qat";
    const Model q = opts.qat->run(fp32, calibration);
    add(r, q, measure(q));
  }

  const int best = choose_rung(res.rungs, res.fp32_latency_ms, opts.objective);
  if (best >= 0) {
    const Rung& r = res.rungs[best];
    res.chosen = r.mode;
    res.int8 = models[best];
    res.drop = *r.drop;
    res.samples = r.samples;
    res.kept_fp32 = r.kept_fp32;
  }
  return res;
}

namespace {

std::string ms_text(std::optional<double> ms) {
  return ms ? fmt::format("{:.3f}", *ms) : "-";
}
std::string ratio_text(std::optional<double> ms, std::optional<double> fp32) {
  return ms && fp32 && *fp32 > 0 ? fmt::format("{:.2f}x", *ms / *fp32) : "-";
}
std::string kib_text(std::optional<int64_t> b) {
  return b ? fmt::format("{:.1f}", static_cast<double>(*b) / 1024.0) : "-";
}

std::string decision_text(const LadderResult& r, double budget) {
  if (r.chosen.empty())
    return fmt::format("no rung within the budget {:.6g}: the model stays fp32\n", budget);
  std::string s = fmt::format("kept {}: PLCC drop {:.3e} within the budget {:.6g} (objective {}: {})\n",
                              r.chosen, r.drop, budget, name(r.objective), objective_rule(r.objective));
  if (!r.kept_fp32.empty()) s += fmt::format("kept in float: {}\n", fmt::join(r.kept_fp32, ", "));
  return s;
}

}  // namespace

std::string ladder_text(const LadderResult& r, double budget) {
  std::string s = fmt::format("  {:<8} {:>10} {:>7} {:>11} {:>8} {:>9}  {}\n", "rung", "PLCC drop", "budget",
                              "latency ms", "vs fp32", "size KiB", "");
  s += fmt::format("  {:<8} {:>10} {:>7} {:>11} {:>8} {:>9}\n", "fp32", "-", "-", ms_text(r.fp32_latency_ms),
                   r.fp32_latency_ms ? "1.00x" : "-", kib_text(std::optional<int64_t>(r.fp32_size_bytes)));
  for (const auto& g : r.rungs) {
    if (!g.tried) {
      s += fmt::format("  {:<8} {:>10} {:>7} {:>11} {:>8} {:>9}  {}\n", g.mode, "-", "-", "-", "-", "-",
                       g.message);
      continue;
    }
    s += fmt::format("  {:<8} {:>10.3e} {:>7} {:>11} {:>8} {:>9}  {}\n", g.mode, *g.drop,
                     g.within ? "within" : "over", ms_text(g.latency_ms),
                     ratio_text(g.latency_ms, r.fp32_latency_ms), kib_text(g.size_bytes), g.message);
    if (!g.k_tried.empty()) {
      std::vector<std::string> ks;
      for (const auto& [k, d] : g.k_tried) ks.push_back(fmt::format("k={}: {:.3e}", k, d));
      s += fmt::format("  {:<8} units in float tried (of {}): {}\n", "", g.units, fmt::join(ks, ", "));
    }
  }
  return s + decision_text(r, budget);
}

std::string ladder_json(const LadderResult& r, double budget) {
  nlohmann::ordered_json j;
  j["budget"] = budget;
  j["objective"] = name(r.objective);
  j["chosen"] = r.chosen.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.chosen);
  if (!r.chosen.empty()) j["drop"] = r.drop;
  j["kept_fp32"] = r.kept_fp32;
  nlohmann::ordered_json f;
  f["latency_ms"] = r.fp32_latency_ms ? nlohmann::ordered_json(*r.fp32_latency_ms) : nullptr;
  f["size_bytes"] = r.fp32_size_bytes;
  j["fp32"] = f;
  j["rungs"] = nlohmann::ordered_json::array();
  for (const auto& g : r.rungs) {
    nlohmann::ordered_json x;
    x["mode"] = g.mode;
    x["tried"] = g.tried;
    if (g.tried) {
      x["drop"] = *g.drop;
      x["within_budget"] = g.within;
      x["latency_ms"] = g.latency_ms ? nlohmann::ordered_json(*g.latency_ms) : nullptr;
      x["size_bytes"] = g.size_bytes ? nlohmann::ordered_json(*g.size_bytes) : nullptr;
      x["samples"] = g.samples;
    }
    if (g.mode == "mixed" && g.tried) {
      x["units"] = g.units;
      x["kept_fp32"] = g.kept_fp32;
      nlohmann::ordered_json ks = nlohmann::ordered_json::array();
      for (const auto& [k, d] : g.k_tried) ks.push_back({{"k", k}, {"drop", d}});
      x["k_tried"] = ks;
    }
    x["message"] = g.message;
    j["rungs"].push_back(x);
  }
  return json_dump(j, 2);
}

std::string ladder_markdown(const LadderResult& r, double budget) {
  std::string s = fmt::format(
      "| rung | PLCC drop | budget {:.6g} | latency (ms) | vs fp32 | size (KiB) | note |\n", budget);
  s += "|---|---|---|---|---|---|---|\n";
  s += fmt::format("| fp32 | - | - | {} | {} | {} | |\n", ms_text(r.fp32_latency_ms),
                   r.fp32_latency_ms ? "1.00x" : "-", kib_text(std::optional<int64_t>(r.fp32_size_bytes)));
  for (const auto& g : r.rungs) {
    const std::string mode = g.mode == r.chosen ? "**" + g.mode + "**" : g.mode;
    if (!g.tried) {
      s += fmt::format("| {} | - | - | - | - | - | {} |\n", mode, g.message);
      continue;
    }
    s += fmt::format("| {} | {:.3e} | {} | {} | {} | {} | {} |\n", mode, *g.drop,
                     g.within ? "within" : "over", ms_text(g.latency_ms),
                     ratio_text(g.latency_ms, r.fp32_latency_ms), kib_text(g.size_bytes), g.message);
  }
  return s + "\n" + decision_text(r, budget);
}

}  // namespace tinyqat::quant
