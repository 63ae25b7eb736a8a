// Photo folders, the train/eval split and image files ↔ 8-bit luma planes (OpenCV imgcodecs).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/error.h"
#include "core/file_util.h"
#include "data/corpus.h"

namespace tinyqat::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFetchHint = "run scripts/fetch_photos.sh to fetch the photos";

bool is_image_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  std::string ext = fs::path(name).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> kExt = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};
  return kExt.count(ext) > 0;
}

}  // namespace

std::vector<std::string> list_photos(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) fail("{}: no such folder ({})", dir, kFetchHint);
  if (!fs::is_directory(dir, ec)) fail("{}: not a folder", dir);
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2) && is_image_name(it->path().filename().string()))
      names.push_back(it->path().filename().string());
  }
  if (ec) fail("{}: cannot list: {}", dir, ec.message());
  if (names.empty()) fail("{}: no images (.png, .jpg, ...) in it; {}", dir, kFetchHint);
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const auto& n : names) paths.push_back((fs::path(dir) / n).string());
  return paths;
}

std::string photo_scene(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  for (const char* suffix : {"_left", "_right"}) {
    const std::string s(suffix);
    if (stem.size() > s.size() && stem.compare(stem.size() - s.size(), s.size(), s) == 0)
      return stem.substr(0, stem.size() - s.size());
  }
  return stem;
}

Split parse_split(const std::string& s) {
  if (s == "train") return Split::Train;
  if (s == "eval") return Split::Eval;
  if (s == "all") return Split::All;
  fail("split '{}': expected train, eval or all", s);
}

const char* split_name(Split s) {
  switch (s) {
    case Split::Train:
      return "train";
    case Split::Eval:
      return "eval";
    case Split::All:
      return "all";
  }
  return "?";
}

std::vector<bool> eval_mask(const std::vector<std::string>& photos) {
  std::map<std::string, size_t> scene_index;  // sorted by scene name
  for (const auto& p : photos) scene_index.emplace(photo_scene(p), 0);
  size_t i = 0;
  for (auto& [scene, idx] : scene_index) idx = i++;
  std::vector<bool> mask;
  for (const auto& p : photos) mask.push_back(scene_index[photo_scene(p)] % kEvalEvery == kEvalEvery - 1);
  return mask;
}

std::vector<size_t> select_split(const std::vector<std::string>& photos, Split s) {
  std::vector<bool> eval = eval_mask(photos);
  std::vector<size_t> out;
  for (size_t i = 0; i < photos.size(); ++i)
    if (s == Split::All || eval[i] == (s == Split::Eval)) out.push_back(i);
  return out;
}

float luma_bt601(float r, float g, float b) {
  return 0.299f * r + 0.587f * g + 0.114f * b;
}

uint8_t luma_bt601_u8(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((299u * r + 587u * g + 114u * b + 500u) / 1000u);
}

Luma8 load_luma(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  cv::Mat m;
  try {
    m = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()),
                     cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH);
  } catch (const cv::Exception& e) {
    fail("{}: cannot decode image: {}", path, e.msg);
  }
  if (m.empty()) fail("{}: cannot decode image (not a supported image file, or corrupt)", path);
  const int ch = m.channels(), depth = m.depth();
  if (depth != CV_8U && depth != CV_16U) fail("{}: unsupported pixel depth (only 8 and 16 bit)", path);
  if (ch != 1 && ch != 3 && ch != 4) fail("{}: unsupported channel count {}", path, ch);
  Luma8 out;
  out.height = m.rows;
  out.width = m.cols;
  out.px.resize(static_cast<size_t>(m.rows) * m.cols);
  for (int y = 0; y < m.rows; ++y) {
    uint8_t* dst = out.px.data() + static_cast<size_t>(y) * m.cols;
    if (depth == CV_8U) {
      const uint8_t* s = m.ptr<uint8_t>(y);
      for (int x = 0; x < m.cols; ++x, s += ch)
        dst[x] = ch == 1 ? s[0] : luma_bt601_u8(s[2], s[1], s[0]);  // OpenCV order is B, G, R(, A)
    } else {
      const uint16_t* s = m.ptr<uint16_t>(y);
      for (int x = 0; x < m.cols; ++x, s += ch) {
        uint64_t num = ch == 1 ? uint64_t(s[0]) * 1000 : 299ull * s[2] + 587ull * s[1] + 114ull * s[0];
        const uint64_t den = 1000ull * 65535;
        dst[x] = static_cast<uint8_t>((num * 255 + den / 2) / den);
      }
    }
  }
  return out;
}

namespace {

void write_png_mat(const std::string& path, const cv::Mat& m) {
  std::vector<uint8_t> buf;
  try {
    if (!cv::imencode(".png", m, buf)) fail("{}: PNG encoding failed", path);
  } catch (const cv::Exception& e) {
    fail("{}: PNG encoding failed: {}", path, e.msg);
  }
  write_file_atomic(path, buf);
}

}  // namespace

void write_png(const std::string& path, const Luma8& img) {
  TQ_CHECK(img.height > 0 && img.width > 0 && img.px.size() == size_t(img.height) * img.width,
           "{}: empty or inconsistent image", path);
  write_png_mat(path, cv::Mat(img.height, img.width, CV_8UC1, const_cast<uint8_t*>(img.px.data())));
}

void write_png_rgb(const std::string& path, int height, int width, const std::vector<uint8_t>& rgb) {
  TQ_CHECK(height > 0 && width > 0 && rgb.size() == size_t(height) * width * 3,
           "{}: empty or inconsistent image", path);
  cv::Mat bgr(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    uint8_t* d = bgr.ptr<uint8_t>(y);
    const uint8_t* s = rgb.data() + size_t(y) * width * 3;
    for (int x = 0; x < width; ++x) {
      d[3 * x] = s[3 * x + 2];
      d[3 * x + 1] = s[3 * x + 1];
      d[3 * x + 2] = s[3 * x];
    }
  }
  write_png_mat(path, bgr);
}

}  // namespace tinyqat::data
