#include "quant/ladder.h"

#include <fmt/format.h>

#include "core/error.h"
#include "quant/compare.h"
#include "quant/ptq.h"

namespace tinyqat::quant {

LadderResult run_ladder(const Model& fp32, const NamedTensors& eval, const NamedTensors& calibration,
                        const LadderOptions& opts) {
  TQ_CHECK(opts.budget >= 0 && opts.budget <= 1, "--budget {} is outside [0, 1]", opts.budget);
  LadderResult res;
  auto attempt = [&](const std::string& mode, const Model& q) {
    Rung r;
    r.mode = mode;
    r.tried = true;
    DropMeasurement d;
    try {
      d = measure_drop(fp32, q, eval, opts.threads);
    } catch (const Error& e) {
      fail("evaluation data: {}", e.what());
    }
    r.drop = d.drop;
    r.within = d.drop <= opts.budget;
    r.message =
        fmt::format("PLCC drop {:.3e} ({} output '{}', {} samples)", d.drop,
                    r.within ? "within budget," : "over budget,", d.worst_output, d.comparison.samples);
    res.rungs.push_back(r);
    if (r.within && res.chosen.empty()) {
      res.chosen = mode;
      res.int8 = q;
      res.drop = d.drop;
      res.samples = d.comparison.samples;
    }
  };
  QConfig dyn_cfg;
  dyn_cfg.exclude = opts.static_config.exclude;
  attempt("dynamic", ptq_dynamic(fp32, dyn_cfg, nullptr));
  if (!res.chosen.empty()) return res;
  if (calibration.empty()) {
    res.rungs.push_back({"static", false, std::nullopt, false, "skipped: no --calibration CALIB.npz"});
  } else {
    Model q;
    try {
      q = ptq_static(fp32, calibration, opts.static_config, nullptr);
    } catch (const Error& e) {
      fail("calibration data: {}", e.what());
    }
    attempt("static", q);
    if (!res.chosen.empty()) return res;
  }
  auto skip_qat = [&](const std::string& why) {
    res.rungs.push_back({"qat", false, std::nullopt, false, why});
    return res;
  };
  if (!opts.qat) return skip_qat(opts.qat_unavailable);
  if (calibration.empty())
    return skip_qat("skipped: no --calibration CALIB.npz (the QAT rung distills on it)");
  if (opts.qat->refuses)
    if (std::string why = opts.qat->refuses(fp32); !why.empty()) return skip_qat("skipped: " + why);
  attempt("qat", opts.qat->run(fp32, calibration));
  return res;
}

std::string ladder_text(const LadderResult& r, double budget) {
  std::string s;
  for (const auto& g : r.rungs) s += fmt::format("  {:<8} {}\n", g.mode, g.message);
  if (r.chosen.empty())
    s += fmt::format("no rung within the budget {:.6g}: the model stays fp32\n", budget);
  else
    s += fmt::format("kept {}: PLCC drop {:.3e} within the budget {:.6g}\n", r.chosen, r.drop, budget);
  return s;
}

}  // namespace tinyqat::quant
