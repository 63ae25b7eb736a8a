// Data tools (src/data/): luma, degradations, the split, determinism, the CSV reader and the proxy MOS.
// Self-contained: synthetic photos are written with the library itself. One test also uses the real
// photos in .cache/photos when scripts/fetch_photos.sh has fetched them (SKIP otherwise).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/file_util.h"
#include "data/corpus.h"
#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "support/test_support.h"
#include "zoo/zoo.h"

namespace tinyqat {
namespace {

namespace fs = std::filesystem;
using data::Luma8;

const Tensor& array(const NamedTensors& a, const std::string& name) {
  for (const auto& kv : a)
    if (kv.first == name) return kv.second;
  throw std::runtime_error("no array " + name);
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Smooth shading, edges and fine texture that differ per `variant`: enough structure for blur and JPEG.
std::vector<uint8_t> synthetic_rgb(int h, int w, int variant) {
  std::vector<uint8_t> rgb(static_cast<size_t>(h) * w * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double v = 0.3 + 0.4 * x / w + 0.15 * std::sin(0.21 * y + variant) * std::cos(0.17 * x) +
                 ((x + 3 * variant) % 23 < 11 ? 0.1 : -0.1) + 0.05 * std::sin(1.9 * x + 2.7 * y);
      for (int c = 0; c < 3; ++c) {
        double vc = std::clamp(v + 0.08 * (c - 1) * std::cos(0.05 * (x + y) + variant), 0.0, 1.0);
        rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>(std::lround(vc * 255));
      }
    }
  return rgb;
}

Luma8 synthetic_luma(int h, int w, int variant) {
  std::vector<uint8_t> rgb = synthetic_rgb(h, w, variant);
  Luma8 img{h, w, std::vector<uint8_t>(static_cast<size_t>(h) * w)};
  for (size_t i = 0; i < img.px.size(); ++i)
    img.px[i] = data::luma_bt601_u8(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
  return img;
}

// Eight scenes a..g and a stereo pair: sorted scenes a b c d e f g pair → d and pair are eval.
fs::path synthetic_photo_dir(const std::string& name) {
  fs::path dir = test::temp_dir(name);
  const char* names[] = {"a.png", "b.png", "c.png",         "d.png",         "e.png",
                         "f.png", "g.png", "pair_left.png", "pair_right.png"};
  int v = 0;
  for (const char* n : names) {
    const int h = 96 + 8 * (v % 3), w = 112 + 4 * v;
    data::write_png_rgb((dir / n).string(), h, w, synthetic_rgb(h, w, v));
    ++v;
  }
  std::ofstream((dir / "notes.txt").string()) << "not an image";  // ignored by list_photos
  return dir;
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DataLuma, Bt601OfKnownValues) {
  EXPECT_FLOAT_EQ(data::luma_bt601(1, 0, 0), 0.299f);
  EXPECT_FLOAT_EQ(data::luma_bt601(0, 1, 0), 0.587f);
  EXPECT_FLOAT_EQ(data::luma_bt601(0, 0, 1), 0.114f);
  EXPECT_NEAR(data::luma_bt601(1, 1, 1), 1.0f, 1e-6f);
  // 0.299·200 + 0.587·100 + 0.114·50 = 124.2 → 124
  EXPECT_EQ(data::luma_bt601_u8(200, 100, 50), 124);
  EXPECT_EQ(data::luma_bt601_u8(255, 255, 255), 255);

  fs::path dir = test::temp_dir("DataLuma");
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 12; ++i) rgb.insert(rgb.end(), {200, 100, 50});
  data::write_png_rgb((dir / "rgb.png").string(), 3, 4, rgb);
  Luma8 y = data::load_luma((dir / "rgb.png").string());
  ASSERT_EQ(y.height, 3);
  ASSERT_EQ(y.width, 4);
  for (uint8_t v : y.px) EXPECT_EQ(v, 124);

  Luma8 g = synthetic_luma(20, 30, 1);  // a gray PNG comes back unchanged
  data::write_png((dir / "gray.png").string(), g);
  EXPECT_EQ(data::load_luma((dir / "gray.png").string()).px, g.px);
}

TEST(DataDegrade, BlurAndJpegChangeTheImageDeterministically) {
  const Luma8 img = synthetic_luma(64, 80, 2);
  EXPECT_EQ(data::blur_kernel_size(1.2), 9);
  EXPECT_EQ(data::blur_kernel_size(3.0), 19);
  EXPECT_EQ(data::gaussian_blur(img, 0).px, img.px);

  const Luma8 b1 = data::gaussian_blur(img, 1.2), b2 = data::gaussian_blur(img, 1.2);
  EXPECT_NE(b1.px, img.px);
  EXPECT_EQ(b1.px, b2.px);
  // Blur removes high frequencies: the sum of squared horizontal differences drops.
  auto energy = [](const Luma8& m) {
    double e = 0;
    for (int y = 0; y < m.height; ++y)
      for (int x = 1; x < m.width; ++x) e += std::pow(double(m.at(y, x)) - m.at(y, x - 1), 2);
    return e;
  };
  EXPECT_LT(energy(b1), 0.5 * energy(img));

  const Luma8 j1 = data::jpeg_roundtrip(img, 35), j2 = data::jpeg_roundtrip(img, 35);
  EXPECT_NE(j1.px, img.px);
  EXPECT_EQ(j1.px, j2.px);
  std::vector<float> a(img.px.size()), q35(img.px.size()), q95(img.px.size());
  data::to_unit(img, a.data());
  data::to_unit(j1, q35.data());
  data::to_unit(data::jpeg_roundtrip(img, 95), q95.data());
  EXPECT_LT(data::psnr(q35.data(), a.data(), a.size()), data::psnr(q95.data(), a.data(), a.size()));
  EXPECT_EQ(data::psnr(a.data(), a.data(), a.size()), 100.0);
  EXPECT_THROW(data::jpeg_roundtrip(img, 0), Error);

  const Luma8 half = data::box_downscale(img, 2);
  ASSERT_EQ(half.height, 32);
  EXPECT_EQ(half.at(0, 0), (img.at(0, 0) + img.at(0, 1) + img.at(1, 0) + img.at(1, 1) + 2) / 4);
}

TEST(DataDegrade, NoiseIsGaussianLikeAndSeeded) {
  const size_t n = 200000;
  std::vector<float> v1(n, 0.5f), v2(n, 0.5f), v3(n, 0.5f);
  data::add_gaussian_noise(v1.data(), n, 0.05, 7);
  data::add_gaussian_noise(v2.data(), n, 0.05, 7);
  data::add_gaussian_noise(v3.data(), n, 0.05, 8);
  EXPECT_EQ(v1, v2);
  EXPECT_NE(v1, v3);
  double s = 0, ss = 0;
  for (float x : v1) {
    s += x - 0.5;
    ss += (x - 0.5) * (x - 0.5);
  }
  EXPECT_NEAR(s / n, 0.0, 1e-3);
  EXPECT_NEAR(std::sqrt(ss / n), 0.05, 0.05 * 0.02);
  std::vector<float> edge(1000, 1.0f);
  data::add_gaussian_noise(edge.data(), edge.size(), 0.5, 1);
  for (float x : edge) ASSERT_TRUE(x >= 0.f && x <= 1.f);
}

TEST(DataSplit, ByScene) {
  fs::path dir = synthetic_photo_dir("DataSplit");
  const auto photos = data::list_photos(dir.string());
  ASSERT_EQ(photos.size(), 9u);  // notes.txt is not an image
  EXPECT_EQ(fs::path(photos[0]).filename(), "a.png");
  EXPECT_EQ(data::photo_scene(photos[7]), "pair");
  EXPECT_EQ(data::photo_scene("x/motorcycle_right.png"), "motorcycle");
  const std::vector<bool> eval = data::eval_mask(photos);
  std::set<std::string> eval_names;
  for (size_t i = 0; i < photos.size(); ++i)
    if (eval[i]) eval_names.insert(fs::path(photos[i]).filename().string());
  EXPECT_EQ(eval_names, (std::set<std::string>{"d.png", "pair_left.png", "pair_right.png"}));
  EXPECT_EQ(data::select_split(photos, data::Split::All).size(), 9u);
  EXPECT_EQ(data::select_split(photos, data::Split::Eval).size(), 3u);

  for (data::Split split : {data::Split::Train, data::Split::Eval}) {
    data::FilterPairsOptions o;
    o.count = 40;
    o.size = 32;
    o.split = split;
    const NamedTensors set = data::filter_pairs(dir.string(), o);
    const Tensor& photo = array(set, "photo");
    const Tensor& box = array(set, "box");
    const Tensor& clean = array(set, "clean");
    std::set<int32_t> seen;
    for (int64_t i = 0; i < o.count; ++i) {
      const int32_t p = photo.data<int32_t>()[i];
      seen.insert(p);
      ASSERT_EQ(eval[p], split == data::Split::Eval) << "crop " << i << " comes from " << photos[p];
      // The crop really is that window of that photo.
      const Luma8 img = data::load_luma(photos[p]);
      const int32_t* b = box.data<int32_t>() + 3 * i;
      ASSERT_LE(b[0] + b[2], img.height);
      ASSERT_LE(b[1] + b[2], img.width);
      for (int y = 0; y < 32; y += 7)
        for (int x = 0; x < 32; x += 5)
          ASSERT_EQ(clean.data<float>()[(i * 32 + y) * 32 + x], img.at(b[0] + y, b[1] + x) / 255.0f);
    }
    EXPECT_EQ(seen.size(), split == data::Split::Eval ? 3u : 6u);  // round-robin reaches every photo
  }
}

TEST(DataSets, SameSeedSameBytesOtherSeedOtherSamples) {
  fs::path dir = synthetic_photo_dir("DataSeed");
  data::FilterPairsOptions o;
  o.count = 12;
  o.size = 32;
  o.noise = 0.01;
  const NamedTensors a = data::filter_pairs(dir.string(), o), b = data::filter_pairs(dir.string(), o);
  EXPECT_EQ(serialize_npz(a, true), serialize_npz(b, true));
  o.seed = 1;
  const NamedTensors c = data::filter_pairs(dir.string(), o);
  EXPECT_FALSE(same_bytes(array(a, "degraded"), array(c, "degraded")));
  EXPECT_FALSE(same_bytes(array(a, "box"), array(c, "box")));
  // Sample i depends only on (seed, i): a smaller count is a prefix of a larger one.
  o.seed = 0;
  o.count = 5;
  const NamedTensors d = data::filter_pairs(dir.string(), o);
  EXPECT_EQ(
      std::memcmp(array(d, "degraded").raw(), array(a, "degraded").raw(), array(d, "degraded").nbytes()), 0);

  data::NrFramesOptions n;
  n.count = 6;
  n.size = 32;
  EXPECT_EQ(serialize_npz(data::nr_frames(dir.string(), n), true),
            serialize_npz(data::nr_frames(dir.string(), n), true));
  data::NrFramesOptions n2 = n;
  n2.seed = 5;
  EXPECT_FALSE(same_bytes(array(data::nr_frames(dir.string(), n), "frame"),
                          array(data::nr_frames(dir.string(), n2), "frame")));
}

TEST(DataSets, FilterPairsRecipe) {
  fs::path dir = synthetic_photo_dir("DataPairs");
  data::FilterPairsOptions o;
  o.count = 8;
  o.size = 48;
  o.input_name = "x";
  const NamedTensors set = data::filter_pairs(dir.string(), o);
  ASSERT_EQ(set.size(), 4u);
  EXPECT_EQ(set[0].first, "x");
  EXPECT_EQ(set[0].second.shape(), (Shape{8, 1, 48, 48}));
  EXPECT_EQ(array(set, "clean").shape(), (Shape{8, 1, 48, 48}));
  const float* d = set[0].second.data<float>();
  const float* c = array(set, "clean").data<float>();
  const double p = data::psnr(d, c, 8 * 48 * 48);
  EXPECT_GT(p, 15.0);  // degraded but recognisable
  EXPECT_LT(p, 45.0);
  o.blur = 0;
  o.jpeg = 0;
  const NamedTensors none = data::filter_pairs(dir.string(), o);
  EXPECT_TRUE(same_bytes(none[0].second, array(none, "clean")));  // no degradation: identical

  const NamedTensors in = data::only(set, "x");
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].first, "x");
  EXPECT_THROW(data::only(set, "nope"), Error);
  o.input_name = "clean";
  EXPECT_THROW(data::filter_pairs(dir.string(), o), Error);

  const Luma8 sheet = data::contact_sheet({array(set, "clean"), set[0].second}, 8);
  EXPECT_EQ(sheet.height, 2 * 48 + 2);
  EXPECT_EQ(sheet.width, 8 * 48 + 7 * 2);
}

TEST(DataSets, NrFramesLabels) {
  fs::path dir = synthetic_photo_dir("DataNr");
  data::NrFramesOptions o;
  o.count = 30;
  o.size = 40;
  o.split = data::Split::All;
  const NamedTensors set = data::nr_frames(dir.string(), o);
  const Tensor& frame = array(set, "frame");
  const Tensor& level = array(set, "level");
  const Tensor& mos = array(set, "mos");
  const Tensor& psnr = array(set, "psnr");
  ASSERT_EQ(frame.shape(), (Shape{30, 1, 40, 40}));
  ASSERT_EQ(level.shape(), (Shape{30, 3}));
  ASSERT_EQ(mos.shape(), (Shape{30}));
  ASSERT_EQ(psnr.shape(), (Shape{30}));
  for (int64_t i = 0; i < frame.numel(); ++i)
    ASSERT_TRUE(frame.data<float>()[i] >= 0 && frame.data<float>()[i] <= 1);
  std::set<float> qualities;
  for (int64_t i = 0; i < 30; ++i) {
    const float* lv = level.data<float>() + 3 * i;
    EXPECT_GE(lv[0], 10);
    EXPECT_LE(lv[0], 95);
    EXPECT_TRUE(lv[1] == 0 || (lv[1] >= 0.3f - 1e-6f && lv[1] <= 3.0f + 1e-6f));
    EXPECT_TRUE(lv[2] == 0 || (lv[2] >= 0.005f - 1e-7f && lv[2] <= 0.08f + 1e-7f));
    EXPECT_FLOAT_EQ(mos.data<float>()[i],
                    static_cast<float>(data::proxy_mos(static_cast<int>(lv[0]), lv[1], lv[2])));
    EXPECT_GT(psnr.data<float>()[i], 10);
    EXPECT_LT(psnr.data<float>()[i], 100);
    qualities.insert(lv[0]);
  }
  EXPECT_GT(qualities.size(), 10u);  // a spread, not one setting
}

TEST(DataMos, MonotoneInEveryDegradation) {
  EXPECT_DOUBLE_EQ(data::proxy_mos(95, 0, 0), 100.0);
  for (int q = 10; q < 95; ++q) EXPECT_GT(data::proxy_mos(q + 1, 0.5, 0.01), data::proxy_mos(q, 0.5, 0.01));
  for (int k = 0; k < 30; ++k)
    EXPECT_GT(data::proxy_mos(50, k / 10.0, 0.02), data::proxy_mos(50, (k + 1) / 10.0, 0.02));
  for (int k = 0; k < 80; ++k)
    EXPECT_GT(data::proxy_mos(50, 1.0, k / 1000.0), data::proxy_mos(50, 1.0, (k + 1) / 1000.0));
  const double worst = data::proxy_mos(10, 3.0, 0.08);
  EXPECT_GE(worst, 0.0);
  EXPECT_LT(worst, 5.0);
}

TEST(DataCsv, FeaturesAndBadRows) {
  fs::path dir = test::temp_dir("DataCsv");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream((dir / name).string(), std::ios::binary) << text;
    return (dir / name).string();
  };
  const std::string header = "adm2,vif_scale0,vif_scale1,vif_scale2,vif_scale3,motion2,vmaf\n";
  const std::string good =
      write("good.csv", header + "0.9,0.2,0.7,0.8,0.87,5.5,81.9\r\n1,0.6,0.85,0.91,0.94,7.96,99.1\n\n");
  const NamedTensors set = data::features_from_csv(good);
  ASSERT_EQ(set[0].first, "features");
  EXPECT_EQ(set[0].second.shape(), (Shape{2, 6}));
  EXPECT_EQ(array(set, "vmaf").shape(), (Shape{2}));
  EXPECT_FLOAT_EQ(set[0].second.data<float>()[5], 5.5f);
  EXPECT_FLOAT_EQ(set[0].second.data<float>()[6], 1.0f);
  EXPECT_FLOAT_EQ(array(set, "vmaf").data<float>()[1], 99.1f);
  EXPECT_EQ(data::features_from_csv(good, "in")[0].first, "in");

  std::string e = error_of([&] {
    data::features_from_csv(
        write("bad.csv", header + "0.9,0.2,0.7,0.8,0.87,5.5,81.9\n0.9,0.2,x,0.8,0.87,5.5,81.9\n"));
  });
  EXPECT_NE(e.find("bad.csv:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("vif_scale1"), std::string::npos) << e;
  e = error_of([&] { data::features_from_csv(write("short.csv", header + "0.9,0.2,0.7\n")); });
  EXPECT_NE(e.find("short.csv:2:"), std::string::npos) << e;
  e = error_of(
      [&] { data::features_from_csv(write("nan.csv", header + "0.9,0.2,0.7,0.8,0.87,nan,81.9\n")); });
  EXPECT_NE(e.find("nan.csv:2:"), std::string::npos) << e;
  e = error_of([&] { data::features_from_csv(write("hdr.csv", "a,b,c,d,e,f,g\n1,2,3,4,5,6,7\n")); });
  EXPECT_NE(e.find("hdr.csv:1:"), std::string::npos) << e;
  e = error_of([&] { data::features_from_csv(write("empty.csv", header)); });
  EXPECT_NE(e.find("no data rows"), std::string::npos) << e;
  e = error_of([&] { data::features_from_csv((dir / "missing.csv").string()); });
  EXPECT_NE(e.find("missing.csv"), std::string::npos) << e;
}

// data yuv: raw 4:2:0 frames from photos — BT.709 limited range exactly (a pure red photo: Y 63, Cb 102,
// Cr 240; ×4 in 10 bits), a whole number of frames per photo, and `frames` reads the result.
TEST(DataYuv, PhotosBecomeRawFramesThatFramesReads) {
  fs::path dir = synthetic_photo_dir("DataYuv");
  auto r = test::cli(
      fmt::format("data yuv --photos {0} -o {0}/v.yuv --size 64x48 --frames-per-photo 2", dir.string()), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto v = read_file((dir / "v.yuv").string());
  const size_t frame = 64 * 48 * 3 / 2;
  ASSERT_EQ(v.size(), 9 * 2 * frame) << "9 photos x 2 frames";
  for (size_t f = 0; f < 18; ++f)
    for (size_t i = 0; i < frame; ++i) {
      const uint8_t x = v[f * frame + i];
      ASSERT_TRUE(i < 64 * 48 ? (x >= 16 && x <= 235) : (x >= 16 && x <= 240))
          << "frame " << f << " byte " << i;
    }
  EXPECT_NE(std::vector<uint8_t>(v.begin(), v.begin() + 64 * 48),
            std::vector<uint8_t>(v.begin() + frame, v.begin() + frame + 64 * 48))
      << "the two frames of a photo pan";
  fs::path red = test::temp_dir("DataYuvRed");
  std::vector<uint8_t> rgb(40 * 60 * 3, 0);
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = 255;
  data::write_png_rgb((red / "red.png").string(), 40, 60, rgb);
  for (const char* fmt8 : {"yuv420p", "yuv420p10le"}) {
    SCOPED_TRACE(fmt8);
    auto q = test::cli(
        fmt::format("data yuv --photos {0} -o {0}/r.yuv --size 32x16 --frames-per-photo 1 --pix-fmt {1}",
                    red.string(), fmt8),
        red);
    ASSERT_EQ(q.code, 0) << q.err;
    const auto b = read_file((red / "r.yuv").string());
    const bool ten = std::string(fmt8) == "yuv420p10le";
    ASSERT_EQ(b.size(), size_t(32 * 16 * 3 / 2) * (ten ? 2 : 1));
    auto at = [&](size_t i) { return ten ? int(b[2 * i]) | (int(b[2 * i + 1]) << 8) : int(b[i]); };
    EXPECT_EQ(at(0), ten ? 250 : 63);
    EXPECT_EQ(at(32 * 16), ten ? 409 : 102);
    EXPECT_EQ(at(32 * 16 + 8 * 16), ten ? 960 : 240);
  }
  export_onnx(zoo::learned_filter(1, 4, 1, 3), (dir / "lf.onnx").string());
  auto fr = test::cli(
      fmt::format("frames {0}/lf.onnx --yuv {0}/v.yuv --size 64x48 --out {0}/o.yuv -q", dir.string()), dir);
  ASSERT_EQ(fr.code, 0) << fr.err;
  EXPECT_EQ(fs::file_size(dir / "o.yuv"), v.size());
  auto bad = test::cli(fmt::format("data yuv --photos {0} -o {0}/w.yuv --size 63x48", dir.string()), dir);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("even"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "w.yuv"));
}

TEST(DataErrors, FoldersAndImages) {
  fs::path root = test::temp_dir("DataErrors");
  std::string e = error_of([&] { data::list_photos((root / "nope").string()); });
  EXPECT_NE(e.find("nope"), std::string::npos) << e;
  EXPECT_NE(e.find("fetch_photos.sh"), std::string::npos) << e;
  fs::create_directories(root / "empty");
  e = error_of([&] { data::list_photos((root / "empty").string()); });
  EXPECT_NE(e.find("no images"), std::string::npos) << e;
  EXPECT_NE(e.find("fetch_photos.sh"), std::string::npos) << e;

  fs::create_directories(root / "broken");
  std::ofstream((root / "broken" / "x.png").string()) << "this is not a PNG";
  e = error_of([&] { data::load_luma((root / "broken" / "x.png").string()); });
  EXPECT_NE(e.find("x.png"), std::string::npos) << e;
  data::FilterPairsOptions o;
  o.split = data::Split::All;
  e = error_of([&] { data::filter_pairs((root / "broken").string(), o); });
  EXPECT_NE(e.find("x.png"), std::string::npos) << e;

  // Fewer than 4 scenes: the eval split is empty, and says so.
  fs::create_directories(root / "few");
  data::write_png_rgb((root / "few" / "a.png").string(), 80, 80, synthetic_rgb(80, 80, 0));
  o.split = data::Split::Eval;
  e = error_of([&] { data::filter_pairs((root / "few").string(), o); });
  EXPECT_NE(e.find("eval split is empty"), std::string::npos) << e;
  // Photos smaller than the crop.
  o.split = data::Split::Train;
  o.size = 128;
  e = error_of([&] { data::filter_pairs((root / "few").string(), o); });
  EXPECT_NE(e.find("128x128"), std::string::npos) << e;
}

TEST(DataRealPhotos, SmallSetsFromFetchedPhotos) {
  const fs::path dir = fs::path(TQ_SOURCE_DIR) / ".cache" / "photos";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::printf("SKIP DataRealPhotos: %s not found (run scripts/fetch_photos.sh)\n", dir.c_str());
    GTEST_SKIP();
  }
  const auto photos = data::list_photos(dir.string());
  EXPECT_GE(photos.size(), 10u);
  data::FilterPairsOptions fo;
  fo.count = 8;
  fo.split = data::Split::Eval;
  const NamedTensors pairs = data::filter_pairs(dir.string(), fo);
  EXPECT_EQ(pairs[0].second.shape(), (Shape{8, 1, 64, 64}));
  const double p =
      data::psnr(pairs[0].second.data<float>(), array(pairs, "clean").data<float>(), 8 * 64 * 64);
  EXPECT_GT(p, 20.0);
  EXPECT_LT(p, 45.0);
  data::NrFramesOptions no;
  no.count = 4;
  no.size = 224;
  const NamedTensors frames = data::nr_frames(dir.string(), no);
  EXPECT_EQ(frames[0].second.shape(), (Shape{4, 1, 224, 224}));
  const std::vector<bool> eval = data::eval_mask(photos);
  for (int64_t i = 0; i < 4; ++i) EXPECT_FALSE(eval[array(frames, "photo").data<int32_t>()[i]]);
}

}  // namespace
}  // namespace tinyqat
