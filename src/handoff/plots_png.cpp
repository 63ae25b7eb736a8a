// The gate's pictures (OpenCV, linked privately into libtinyqat):
//   write_scatter_png  two panels: fp32 output on x against int8 on y with the identity line, and beside
//                      it the residual (Bland–Altman) plot — mean of the two on x, int8 − fp32 on y, with
//                      the mean difference and its ±1.96 SD limits; round tick values on every axis.
//   write_frame_png    for image outputs: fp32 output, int8 output (one grey scale for both) and their
//                      absolute difference (its own colour scale, its maximum printed) on one frame.
//   write_sqnr_png     compare --per-layer --plot: SQNR per quantized tensor as horizontal bars.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "handoff/plots.h"

namespace tinyqat::handoff {

namespace {

const cv::Scalar kAxis(60, 60, 60), kGrid(225, 225, 225), kDot(180, 90, 20), kLine(40, 40, 200);

// Round tick values (1, 2 or 5 × 10^k apart) inside [lo, hi], and how many decimals print them exactly.
std::vector<double> nice_ticks(double lo, double hi, int* decimals) {
  const double raw = (hi - lo) / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  *decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9 && t.size() < 20; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// A plot panel: data ranges mapped into a pixel rectangle, with grid, ticks and axis names.
struct Panel {
  cv::Rect box;
  double x0, x1, y0, y1;
  int px(double v) const { return int(std::lround(box.x + (v - x0) / (x1 - x0) * box.width)); }
  int py(double v) const { return int(std::lround(box.y + box.height - (v - y0) / (y1 - y0) * box.height)); }
  bool inside(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }

  void frame(cv::Mat& img, const std::string& xname, const std::string& yname) const {
    int dx = 0, dy = 0;
    for (double v : nice_ticks(x0, x1, &dx)) {
      cv::line(img, {px(v), box.y}, {px(v), box.y + box.height}, kGrid, 1);
      const std::string lab = fmt::format("{:.{}f}", v, dx);
      cv::putText(img, lab, {px(v) - 4 * int(lab.size()), box.y + box.height + 20}, cv::FONT_HERSHEY_SIMPLEX,
                  0.42, kAxis, 1, cv::LINE_AA);
    }
    for (double v : nice_ticks(y0, y1, &dy)) {
      cv::line(img, {box.x, py(v)}, {box.x + box.width, py(v)}, kGrid, 1);
      const std::string lab = fmt::format("{:.{}f}", v, dy);
      cv::putText(img, lab, {box.x - 8 - 8 * int(lab.size()), py(v) + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.42,
                  kAxis, 1, cv::LINE_AA);
    }
    cv::rectangle(img, box, kAxis, 1);
    cv::putText(img, xname, {box.x + box.width / 2 - 4 * int(xname.size()), box.y + box.height + 44},
                cv::FONT_HERSHEY_SIMPLEX, 0.5, kAxis, 1, cv::LINE_AA);
    cv::putText(img, yname, {box.x - 60, box.y - 10}, cv::FONT_HERSHEY_SIMPLEX, 0.5, kAxis, 1, cv::LINE_AA);
  }
  void hline(cv::Mat& img, double y, const cv::Scalar& c, bool dashed) const {
    if (y < y0 || y > y1) return;
    for (int x = box.x; x < box.x + box.width; x += dashed ? 12 : box.width)
      cv::line(img, {x, py(y)}, {std::min(x + (dashed ? 7 : box.width), box.x + box.width), py(y)}, c, 1,
               cv::LINE_AA);
  }
};

// [lo, hi] of the finite values, widened by 3 % (a unit range around a constant).
std::pair<double, double> padded_range(const std::vector<double>& a, const std::vector<double>* b = nullptr) {
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* v : {&a, b})
    if (v)
      for (double x : *v)
        if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!(lo < hi)) {
    lo = std::isfinite(lo) ? lo - 0.5 : 0.0;
    hi = lo + 1.0;
  }
  const double pad = (hi - lo) * 0.03;
  return {lo - pad, hi + pad};
}

void put_title(cv::Mat& img, const std::string& title) {
  double scale = 0.55;
  int base = 0;
  while (scale > 0.3 &&
         cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &base).width > img.cols - 20)
    scale -= 0.05;
  cv::putText(img, title, {10, 28}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
}

void write_png(const std::string& path, const cv::Mat& img) {
  std::vector<uchar> png;
  TQ_CHECK(cv::imencode(".png", img, png), "{}: PNG encoding failed", path);
  write_file_atomic(path, png.data(), png.size());
}

}  // namespace

void write_scatter_png(const std::string& path, const std::vector<double>& x, const std::vector<double>& y,
                       const std::string& title) {
  TQ_CHECK(x.size() == y.size() && !x.empty(), "scatter plot: {} fp32 values, {} int8 values", x.size(),
           y.size());
  const int W = 1440, H = 720, side = 600;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  // At most ~200k points: a deterministic stride keeps big images quick to draw.
  const size_t stride = std::max<size_t>(1, x.size() / 200000);

  const auto [lo, hi] = padded_range(x, &y);
  const Panel sc{{100, 70, side - 40, side - 40}, lo, hi, lo, hi};
  sc.frame(img, "fp32", "int8");
  cv::line(img, {sc.px(lo), sc.py(lo)}, {sc.px(hi), sc.py(hi)}, kLine, 1, cv::LINE_AA);
  for (size_t i = 0; i < x.size(); i += stride)
    if (std::isfinite(x[i]) && std::isfinite(y[i]))
      cv::circle(img, {sc.px(x[i]), sc.py(y[i])}, 2, kDot, cv::FILLED, cv::LINE_AA);

  // Bland–Altman: mean of the pair against int8 − fp32.
  std::vector<double> diff;
  double sum = 0, sum2 = 0;
  size_t n = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) {
      const double d = y[i] - x[i];
      sum += d, sum2 += d * d, ++n;
    }
  const double bias = n ? sum / double(n) : 0.0;
  const double sd = n > 1 ? std::sqrt(std::max(0.0, (sum2 - sum * sum / double(n)) / double(n - 1))) : 0.0;
  double reach = std::max(std::abs(bias) + 1.96 * sd, 1e-12);
  for (size_t i = 0; i < x.size(); i += stride)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) reach = std::max(reach, std::abs(y[i] - x[i]));
  reach *= 1.08;
  const Panel ba{{W / 2 + 110, 70, side - 40, side - 40}, lo, hi, -reach, reach};
  ba.frame(img, "(fp32 + int8) / 2", "int8 - fp32");
  ba.hline(img, 0.0, kAxis, false);
  ba.hline(img, bias, kLine, false);
  ba.hline(img, bias - 1.96 * sd, kLine, true);
  ba.hline(img, bias + 1.96 * sd, kLine, true);
  for (size_t i = 0; i < x.size(); i += stride) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    const double m = (x[i] + y[i]) / 2, d = y[i] - x[i];
    if (ba.inside(m, d)) cv::circle(img, {ba.px(m), ba.py(d)}, 2, kDot, cv::FILLED, cv::LINE_AA);
  }
  cv::putText(img,
              fmt::format("mean {:.3g}, limits +/-1.96 SD: [{:.3g}, {:.3g}]", bias, bias - 1.96 * sd,
                          bias + 1.96 * sd),
              {W / 2 + 110, H - 14}, cv::FONT_HERSHEY_SIMPLEX, 0.45, kLine, 1, cv::LINE_AA);
  put_title(img, title);
  write_png(path, img);
}

void write_frame_png(const std::string& path, const Tensor& fp32, const Tensor& int8,
                     const std::string& title) {
  TQ_CHECK(fp32.rank() == 4 && fp32.shape() == int8.shape() && fp32.dtype() == DType::F32 &&
               int8.dtype() == DType::F32 && fp32.dim(2) > 0 && fp32.dim(3) > 0,
           "frame picture: outputs {} and {} are not one float image each", shape_str(fp32.shape()),
           shape_str(int8.shape()));
  const int h = int(std::min<int64_t>(fp32.dim(2), 1 << 14)),
            w = int(std::min<int64_t>(fp32.dim(3), 1 << 14));
  const int64_t stride = fp32.dim(3);
  // Sample 0, channel 0.
  cv::Mat a(h, w, CV_32F), b(h, w, CV_32F), d(h, w, CV_32F);
  float lo = INFINITY, hi = -INFINITY, dmax = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const float u = fp32.data<float>()[r * stride + c], v = int8.data<float>()[r * stride + c];
      a.at<float>(r, c) = u, b.at<float>(r, c) = v, d.at<float>(r, c) = std::abs(v - u);
      if (std::isfinite(u)) lo = std::min(lo, u), hi = std::max(hi, u);
      if (std::isfinite(v - u)) dmax = std::max(dmax, std::abs(v - u));
    }
  if (!(lo < hi)) hi = lo + 1;
  const double scale = std::min(440.0 / w, 560.0 / h);  // each panel at most 440 x 560
  const cv::Size size(std::max(1, int(w * scale)), std::max(1, int(h * scale)));
  const int interp = scale >= 1 ? cv::INTER_NEAREST : cv::INTER_AREA;
  auto grey = [&](const cv::Mat& m) {
    cv::Mat u8, big, bgr;
    m.convertTo(u8, CV_8U, 255.0 / (hi - lo), -255.0 * lo / (hi - lo));
    cv::resize(u8, big, size, 0, 0, interp);
    cv::cvtColor(big, bgr, cv::COLOR_GRAY2BGR);
    return bgr;
  };
  cv::Mat du8, dbig, dcol;
  d.convertTo(du8, CV_8U, dmax > 0 ? 255.0 / dmax : 0.0);
  cv::resize(du8, dbig, size, 0, 0, interp);
  cv::applyColorMap(dbig, dcol, cv::COLORMAP_INFERNO);

  const int pad = 20, top = 76;
  cv::Mat img(top + size.height + 40, std::max(3 * size.width + 4 * pad, 900), CV_8UC3,
              cv::Scalar(255, 255, 255));
  const std::string names[3] = {fmt::format("fp32 (grey {:.3g} .. {:.3g})", lo, hi), "int8 (same scale)",
                                fmt::format("|int8 - fp32| (max {:.3g})", dmax)};
  const cv::Mat panels[3] = {grey(a), grey(b), dcol};
  for (int k = 0; k < 3; ++k) {
    const int x = pad + k * (size.width + pad);
    panels[k].copyTo(img(cv::Rect(x, top, size.width, size.height)));
    cv::putText(img, names[k], {x, top - 10}, cv::FONT_HERSHEY_SIMPLEX, 0.45, kAxis, 1, cv::LINE_AA);
  }
  put_title(img, title);
  write_png(path, img);
}

void write_sqnr_png(const std::string& path, const std::vector<SqnrBar>& bars, const std::string& title) {
  TQ_CHECK(!bars.empty(), "{}: no quantized tensor to chart", path);
  TQ_CHECK(bars.size() <= 4096, "{}: {} tensors: too many for one chart", path, bars.size());
  double top = 1;
  for (const auto& b : bars)
    if (std::isfinite(b.sqnr_db)) top = std::max(top, b.sqnr_db);
  top *= 1.08;
  const int row = 18, label_w = 300, head = 70;
  const int W = 1100, H = head + int(bars.size()) * row + 60;
  cv::Mat img(H, W, CV_8UC3, cv::Scalar(255, 255, 255));
  const Panel p{{label_w, head, W - label_w - 200, int(bars.size()) * row}, 0, top, 0, double(bars.size())};
  int dx = 0;
  for (double v : nice_ticks(0, top, &dx)) {
    cv::line(img, {p.px(v), p.box.y}, {p.px(v), p.box.y + p.box.height}, kGrid, 1);
    const std::string lab = fmt::format("{:.{}f}", v, dx);
    cv::putText(img, lab, {p.px(v) - 4 * int(lab.size()), p.box.y + p.box.height + 18},
                cv::FONT_HERSHEY_SIMPLEX, 0.42, kAxis, 1, cv::LINE_AA);
  }
  cv::putText(img, "SQNR (dB), higher is better",
              {p.box.x + p.box.width / 2 - 100, p.box.y + p.box.height + 42}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
              kAxis, 1, cv::LINE_AA);
  for (size_t i = 0; i < bars.size(); ++i) {
    const SqnrBar& b = bars[i];
    const int y = head + int(i) * row;
    const double v = std::isfinite(b.sqnr_db) ? std::clamp(b.sqnr_db, 0.0, top) : top;
    const cv::Scalar c = b.marked ? cv::Scalar(40, 40, 210) : kDot;
    cv::rectangle(img, {p.px(0), y + 3}, {std::max(p.px(v), p.px(0) + 1), y + row - 3}, c, cv::FILLED);
    std::string label = b.label;
    if (label.size() > 38) label = label.substr(0, 17) + "..." + label.substr(label.size() - 18);
    cv::putText(img, label, {8, y + row - 5}, cv::FONT_HERSHEY_SIMPLEX, 0.42, b.marked ? c : kAxis, 1,
                cv::LINE_AA);
    const std::string val =
        (std::isfinite(b.sqnr_db) ? fmt::format("{:.1f}", b.sqnr_db) : std::string("exact")) +
        (b.note.empty() ? "" : "  " + b.note);
    cv::putText(img, val, {std::max(p.px(v), p.px(0)) + 6, y + row - 5}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                b.marked ? c : kAxis, 1, cv::LINE_AA);
  }
  cv::rectangle(img, p.box, kAxis, 1);
  put_title(img, title);
  write_png(path, img);
}

}  // namespace tinyqat::handoff
