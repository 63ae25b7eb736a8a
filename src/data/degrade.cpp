// Degradations (Gaussian blur, JPEG, additive Gaussian noise), the quality measures that label them
// (PSNR, proxy MOS) and the contact sheet. Blur and JPEG work on 8-bit planes: that is what a codec sees,
// and it is where OpenCV's Gaussian blur is bit-exact (fixed point) on every CPU.
#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "data/corpus.h"

namespace tinyqat::data {

namespace {

cv::Mat view(const Luma8& img) {
  return cv::Mat(img.height, img.width, CV_8UC1, const_cast<uint8_t*>(img.px.data()));
}

Luma8 from_mat(const cv::Mat& m) {
  TQ_CHECK(m.type() == CV_8UC1, "internal: expected an 8-bit one-channel image");
  Luma8 out;
  out.height = m.rows;
  out.width = m.cols;
  out.px.resize(static_cast<size_t>(m.rows) * m.cols);
  for (int y = 0; y < m.rows; ++y)
    std::copy_n(m.ptr<uint8_t>(y), m.cols, out.px.data() + static_cast<size_t>(y) * m.cols);
  return out;
}

}  // namespace

int blur_kernel_size(double sigma) {
  return sigma <= 0 ? 1 : 2 * static_cast<int>(std::ceil(3.0 * sigma)) + 1;
}

Luma8 gaussian_blur(const Luma8& img, double sigma) {
  if (sigma <= 0) return img;
  TQ_CHECK(sigma <= 50, "blur sigma {} is out of range (0..50)", sigma);
  const int k = blur_kernel_size(sigma);
  cv::Mat dst;
  try {
    cv::GaussianBlur(view(img), dst, cv::Size(k, k), sigma, sigma, cv::BORDER_REFLECT_101);
  } catch (const cv::Exception& e) {
    fail("Gaussian blur (sigma {}) failed: {}", sigma, e.msg);
  }
  return from_mat(dst);
}

Luma8 jpeg_roundtrip(const Luma8& img, int quality) {
  TQ_CHECK(quality >= 1 && quality <= 100, "JPEG quality {} is out of range (1..100)", quality);
  std::vector<uint8_t> buf;
  cv::Mat dec;
  try {
    const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, quality};
    TQ_CHECK(cv::imencode(".jpg", view(img), buf, params), "JPEG encoding failed");
    dec = cv::imdecode(buf, cv::IMREAD_GRAYSCALE);
  } catch (const cv::Exception& e) {
    fail("JPEG round trip (quality {}) failed: {}", quality, e.msg);
  }
  TQ_CHECK(!dec.empty() && dec.rows == img.height && dec.cols == img.width, "JPEG round trip failed");
  return from_mat(dec);
}

Luma8 box_downscale(const Luma8& img, int k) {
  TQ_CHECK(k >= 1 && img.height % k == 0 && img.width % k == 0, "internal: box_downscale by {} of {}x{}", k,
           img.width, img.height);
  if (k == 1) return img;
  Luma8 out;
  out.height = img.height / k;
  out.width = img.width / k;
  out.px.resize(static_cast<size_t>(out.height) * out.width);
  const uint32_t n = static_cast<uint32_t>(k * k);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      uint32_t sum = 0;
      for (int dy = 0; dy < k; ++dy)
        for (int dx = 0; dx < k; ++dx) sum += img.at(y * k + dy, x * k + dx);
      out.px[static_cast<size_t>(y) * out.width + x] = static_cast<uint8_t>((sum + n / 2) / n);
    }
  return out;
}

void to_unit(const Luma8& img, float* dst) {
  for (size_t i = 0; i < img.px.size(); ++i) dst[i] = img.px[i] / 255.0f;
}

void add_gaussian_noise(float* v, size_t n, double sigma, uint64_t seed) {
  if (sigma <= 0) return;
  SplitMix64 rng(seed);
  for (size_t i = 0; i < n; ++i) {
    // Twelve 16-bit uniforms (k + 0.5) / 65536 summed, minus 6: mean 0, variance 1, tails at ±6.
    uint32_t sum = 0;
    for (int d = 0; d < 3; ++d) {
      uint64_t r = rng.next();
      sum += static_cast<uint32_t>(r & 0xFFFF) + static_cast<uint32_t>((r >> 16) & 0xFFFF) +
             static_cast<uint32_t>((r >> 32) & 0xFFFF) + static_cast<uint32_t>(r >> 48);
    }
    const double z = (static_cast<double>(sum) + 6.0) / 65536.0 - 6.0;
    const float x = v[i] + static_cast<float>(sigma * z);
    v[i] = std::min(1.0f, std::max(0.0f, x));
  }
}

double psnr(const float* a, const float* b, size_t n) {
  double se = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    se += d * d;
  }
  if (n == 0 || se == 0) return 100.0;
  return std::min(100.0, 10.0 * std::log10(static_cast<double>(n) / se));
}

double proxy_mos(int jpeg_quality, double blur_sigma, double noise_sigma) {
  const double q = std::clamp(jpeg_quality, 10, 95);
  const double dj = (95.0 - q) / 85.0;
  const double db = std::clamp(blur_sigma, 0.0, 3.0) / 3.0;
  const double dn = std::clamp(noise_sigma, 0.0, 0.08) / 0.08;
  return 100.0 * (1.0 - 0.7 * dj * dj) * (1.0 - 0.8 * db) * (1.0 - 0.8 * dn);
}

Luma8 contact_sheet(const std::vector<Tensor>& rows, int64_t max_cols) {
  constexpr int kGap = 2;
  TQ_CHECK(!rows.empty() && max_cols >= 1, "contact sheet: nothing to show");
  const int64_t h = rows[0].dim(2), w = rows[0].dim(3);
  const int64_t cols = std::min<int64_t>(max_cols, rows[0].dim(0));
  for (const Tensor& t : rows)
    TQ_CHECK(t.dtype() == DType::F32 && t.rank() == 4 && t.dim(1) == 1 && t.dim(2) == h && t.dim(3) == w &&
                 t.dim(0) >= cols,
             "contact sheet: expected float32 [N,1,{},{}] tensors, got {}", h, w, shape_str(t.shape()));
  Luma8 sheet;
  sheet.height = static_cast<int>(rows.size() * (h + kGap) - kGap);
  sheet.width = static_cast<int>(cols * (w + kGap) - kGap);
  sheet.px.assign(static_cast<size_t>(sheet.height) * sheet.width, 128);
  for (size_t r = 0; r < rows.size(); ++r) {
    const float* p = rows[r].data<float>();
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const float v = std::clamp(p[(c * h + y) * w + x], 0.0f, 1.0f);
          const size_t oy = r * (h + kGap) + y, ox = c * (w + kGap) + x;
          sheet.px[oy * sheet.width + ox] = static_cast<uint8_t>(std::lround(v * 255.0f));
        }
  }
  return sheet;
}

}  // namespace tinyqat::data
