// fp32-vs-int8 scatter plot (OpenCV, linked privately into libtinyqat): each value of the fp32 output on
// x, the int8 output on y, the identity line, axis ranges and a title.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "handoff/gate.h"

namespace tinyqat::handoff {

void write_scatter_png(const std::string& path, const std::vector<double>& x, const std::vector<double>& y,
                       const std::string& title) {
  TQ_CHECK(x.size() == y.size() && !x.empty(), "scatter plot: {} fp32 values, {} int8 values", x.size(),
           y.size());
  const int W = 720, H = 720, L = 90, R = 30, T = 76, B = 80;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < x.size(); ++i) {
    for (double v : {x[i], y[i]})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(lo < hi)) {
    lo = std::isfinite(lo) ? lo - 0.5 : 0.0;
    hi = lo + 1.0;
  }
  const double pad = (hi - lo) * 0.03;
  lo -= pad;
  hi += pad;
  auto px = [&](double v) { return L + (v - lo) / (hi - lo) * (W - L - R); };
  auto py = [&](double v) { return H - B - (v - lo) / (hi - lo) * (H - T - B); };
  const cv::Scalar axis(60, 60, 60), grid(225, 225, 225), dot(180, 90, 20), ident(40, 40, 200);
  for (int k = 0; k <= 4; ++k) {
    double v = lo + (hi - lo) * k / 4.0;
    cv::line(img, {int(px(v)), T}, {int(px(v)), H - B}, grid, 1);
    cv::line(img, {L, int(py(v))}, {W - R, int(py(v))}, grid, 1);
    std::string lab = fmt::format("{:.3g}", v);
    cv::putText(img, lab, {int(px(v)) - 20, H - B + 22}, cv::FONT_HERSHEY_SIMPLEX, 0.45, axis, 1,
                cv::LINE_AA);
    cv::putText(img, lab, {8, int(py(v)) + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.45, axis, 1, cv::LINE_AA);
  }
  cv::rectangle(img, {L, T}, {W - R, H - B}, axis, 1);
  cv::line(img, {int(px(lo)), int(py(lo))}, {int(px(hi)), int(py(hi))}, ident, 1, cv::LINE_AA);
  // At most ~200k points: a deterministic stride keeps big images quick to draw.
  const size_t stride = std::max<size_t>(1, x.size() / 200000);
  for (size_t i = 0; i < x.size(); i += stride) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    cv::circle(img, {int(std::lround(px(x[i]))), int(std::lround(py(y[i])))}, 2, dot, cv::FILLED,
               cv::LINE_AA);
  }
  cv::putText(img, "fp32", {(L + W - R) / 2 - 20, H - 30}, cv::FONT_HERSHEY_SIMPLEX, 0.6, axis, 1,
              cv::LINE_AA);
  cv::putText(img, "int8", {8, T - 12}, cv::FONT_HERSHEY_SIMPLEX, 0.6, axis, 1, cv::LINE_AA);
  // The title, shrunk to fit.
  double scale = 0.55;
  int base = 0;
  while (scale > 0.3 && cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base).width > W - 20)
    scale -= 0.05;
  cv::putText(img, title, {10, 28}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  std::vector<uchar> png;
  TQ_CHECK(cv::imencode(".png", img, png), "{}: PNG encoding failed", path);
  write_file_atomic(path, png.data(), png.size());
}

}  // namespace tinyqat::handoff
