#include "quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace tinyqat::quant {

namespace {
void same_size(const std::vector<double>& a, const std::vector<double>& b) {
  TQ_CHECK(a.size() == b.size() && !a.empty(), "metrics: {} vs {} values", a.size(), b.size());
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}
}  // namespace

double plcc(const std::vector<double>& a, const std::vector<double>& b) {
  same_size(a, b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n,
               mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa == 0 || sbb == 0) return saa == sbb ? 1.0 : 0.0;  // constant vectors
  return sab / std::sqrt(saa * sbb);
}

double srocc(const std::vector<double>& a, const std::vector<double>& b) {
  return plcc(ranks(a), ranks(b));
}

double rmse(const std::vector<double>& a, const std::vector<double>& b) {
  same_size(a, b);
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  same_size(a, b);
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

double sqnr_db(const std::vector<double>& a, const std::vector<double>& b) {
  same_size(a, b);
  double sig = 0, noise = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sig += a[i] * a[i];
    noise += (a[i] - b[i]) * (a[i] - b[i]);
  }
  if (noise == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(std::max(sig, 1e-300) / noise);
}

}  // namespace tinyqat::quant
