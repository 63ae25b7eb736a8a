// tinyqat data yuv: raw YUV 4:2:0 video from photos (data/corpus.h), for `tinyqat frames` and libvmaf.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file_writer.h"
#include "core/error.h"
#include "data/corpus.h"

namespace tinyqat::data {

namespace {

// BT.709, limited range, from 8-bit R'G'B' (Kr 0.2126, Kb 0.0722): Y in 16..235, Cb/Cr in 16..240.
void rgb_to_ycbcr709(double r, double g, double b, double* y, double* cb, double* cr) {
  const double yl = 0.2126 * r + 0.7152 * g + 0.0722 * b;  // 0..255
  *y = 16.0 + yl * (219.0 / 255.0);
  *cb = 128.0 + (b - yl) / 1.8556 * (224.0 / 255.0);
  *cr = 128.0 + (r - yl) / 1.5748 * (224.0 / 255.0);
}

}  // namespace

int64_t write_yuv_from_photos(const std::vector<std::string>& photos, const std::string& out,
                              const YuvVideoOptions& o, const Progress& progress) {
  TQ_CHECK(!photos.empty(), "{}: no photo to make a video from", out);
  TQ_CHECK(o.width >= 16 && o.height >= 16 && o.width <= 8192 && o.height <= 8192 && o.width % 2 == 0 &&
               o.height % 2 == 0,
           "{}: size {}x{}: width and height must be even, 16..8192", out, o.width, o.height);
  TQ_CHECK(o.frames_per_photo >= 1 && o.frames_per_photo <= 10000,
           "{}: frames per photo must be 1..10000, got {}", out, o.frames_per_photo);
  const int W = o.width, H = o.height;
  const size_t luma = size_t(W) * H, chroma = luma / 4, sample = o.ten_bit ? 2 : 1;
  AtomicFileWriter file(out);
  std::vector<uint8_t> frame((luma + 2 * chroma) * sample);
  auto put = [&](size_t i, double v, double lo, double hi) {
    const double c = std::clamp(v, lo, hi);
    if (!o.ten_bit) {
      frame[i] = static_cast<uint8_t>(std::lround(c));
    } else {
      const auto q = static_cast<uint16_t>(std::lround(c * 4.0));
      frame[2 * i] = static_cast<uint8_t>(q & 0xff), frame[2 * i + 1] = static_cast<uint8_t>(q >> 8);
    }
  };
  int64_t frames = 0;
  for (size_t p = 0; p < photos.size(); ++p) {
    cv::Mat img = cv::imread(photos[p], cv::IMREAD_COLOR);  // BGR, 8-bit
    TQ_CHECK(!img.empty(), "{}: cannot read or decode the image", photos[p]);
    // The largest window of the frame's aspect ratio inside the photo, then 85 % of it.
    double ww = img.cols, wh = img.cols * double(H) / W;
    if (wh > img.rows) wh = img.rows, ww = img.rows * double(W) / H;
    ww *= 0.85, wh *= 0.85;
    for (int f = 0; f < o.frames_per_photo; ++f) {
      const double t = o.frames_per_photo > 1 ? double(f) / (o.frames_per_photo - 1) : 0.5;
      const int x0 = int(std::lround(t * (img.cols - ww))), y0 = int(std::lround(t * (img.rows - wh)));
      const cv::Rect win(x0, y0, std::max(1, int(ww)), std::max(1, int(wh)));
      cv::Mat rgb;
      cv::resize(img(win & cv::Rect(0, 0, img.cols, img.rows)), rgb, cv::Size(W, H), 0, 0, cv::INTER_AREA);
      std::vector<double> cb(luma), cr(luma);
      for (int y = 0; y < H; ++y) {
        const auto* row = rgb.ptr<cv::Vec3b>(y);
        for (int x = 0; x < W; ++x) {
          double Y, U, V;
          rgb_to_ycbcr709(row[x][2], row[x][1], row[x][0], &Y, &U, &V);
          put(size_t(y) * W + x, Y, 16, 235);
          cb[size_t(y) * W + x] = U, cr[size_t(y) * W + x] = V;
        }
      }
      for (int y = 0; y < H / 2; ++y)
        for (int x = 0; x < W / 2; ++x) {
          auto avg = [&](const std::vector<double>& c) {
            const size_t i = size_t(2 * y) * W + 2 * x;
            return (c[i] + c[i + 1] + c[i + W] + c[i + W + 1]) / 4.0;
          };
          put(luma + size_t(y) * (W / 2) + x, avg(cb), 16, 240);
          put(luma + chroma + size_t(y) * (W / 2) + x, avg(cr), 16, 240);
        }
      file.write(frame.data(), frame.size());
      ++frames;
    }
    if (progress) progress(fmt::format("yuv: {}/{} photos, {} frames", p + 1, photos.size(), frames));
  }
  file.commit();
  return frames;
}

}  // namespace tinyqat::data
