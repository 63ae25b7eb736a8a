#include "quant/qconfig.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/numerics.h"

namespace tinyqat::quant {

QConfig preset(const std::string& name) {
  QConfig c;
  if (name == "default") return c;
  if (name == "seed") {
    c.activations = ActScheme::Symmetric;
    c.method = CalibMethod::MinMax;
    c.bias_correction = false;
    return c;
  }
  fail("unknown quantization preset '{}' ({})", name, kPresetNames);
}

ActScheme parse_act_scheme(const std::string& s) {
  if (s == "symmetric") return ActScheme::Symmetric;
  if (s == "asymmetric") return ActScheme::Asymmetric;
  fail("unknown activation scheme '{}' (symmetric or asymmetric)", s);
}

CalibMethod parse_method(const std::string& s) {
  if (s == "minmax") return CalibMethod::MinMax;
  if (s == "percentile") return CalibMethod::Percentile;
  if (s == "entropy") return CalibMethod::Entropy;
  if (s == "mse") return CalibMethod::Mse;
  fail("unknown calibration method '{}' (minmax, percentile, entropy or mse)", s);
}

const char* name(ActScheme a) {
  return a == ActScheme::Symmetric ? "symmetric" : "asymmetric";
}

const char* name(CalibMethod m) {
  switch (m) {
    case CalibMethod::MinMax:
      return "minmax";
    case CalibMethod::Percentile:
      return "percentile";
    case CalibMethod::Entropy:
      return "entropy";
    case CalibMethod::Mse:
      return "mse";
  }
  return "?";
}

QParams qparams_for_range(float lo, float hi, ActScheme scheme) {
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  constexpr float kTiny = 1e-8f;  // a constant-zero tensor still gets a usable, positive scale
  QParams q;
  if (scheme == ActScheme::Symmetric) {
    q.type = DType::I8;
    q.scale = std::max(std::max(-lo, hi), kTiny) / 127.f;
    q.zero_point = 0;
    return q;
  }
  q.type = DType::U8;
  q.scale = std::max(hi - lo, kTiny) / 255.f;
  q.zero_point = std::clamp(static_cast<int32_t>(round_half_even(-lo / q.scale)), 0, 255);
  return q;
}

}  // namespace tinyqat::quant
