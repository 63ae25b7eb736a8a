// The photo-based sets: learned_filter pairs and nr_metric frames (recipes in corpus.h and docs/data.md).
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/rng.h"
#include "data/corpus.h"

namespace tinyqat::data {

namespace {

// Stream tags for stream_seed: each builder draws from its own streams.
constexpr uint64_t kFilterPairsStream = 1, kNrFramesStream = 2;

struct Photo {
  int32_t index;  // into list_photos(dir)
  std::string path;
  Luma8 img;
};

// The photos of split `s` whose short side is at least `min_side`; smaller ones are skipped with a warning.
std::vector<Photo> load_split(const std::string& dir, Split s, int64_t min_side, const std::string& who,
                              const Progress& progress) {
  const std::vector<std::string> all = list_photos(dir);
  const std::vector<size_t> sel = select_split(all, s);
  if (sel.empty())
    fail(
        "{}: the {} split is empty ({} photo(s); one scene in {} goes to eval, so eval needs at least {} "
        "scenes)",
        dir, split_name(s), all.size(), kEvalEvery, kEvalEvery);
  if (progress)
    progress(fmt::format("{}: reading {} of the {} photo(s) in {} (split {})", who, sel.size(), all.size(),
                         dir, split_name(s)));
  std::vector<Photo> out;
  for (size_t i : sel) {
    Luma8 img = load_luma(all[i]);
    if (std::min(img.height, img.width) < min_side) {
      if (progress)
        progress(fmt::format("{}: skipping {} ({}x{}): smaller than {}x{}", who, all[i], img.width,
                             img.height, min_side, min_side));
      continue;
    }
    out.push_back({static_cast<int32_t>(i), all[i], std::move(img)});
  }
  if (out.empty())
    fail("{}: no photo of the {} split is at least {}x{} pixels", dir, split_name(s), min_side, min_side);
  return out;
}

void copy_window(const Luma8& img, int y, int x, int side, Luma8& dst) {
  dst.height = dst.width = side;
  dst.px.resize(static_cast<size_t>(side) * side);
  for (int r = 0; r < side; ++r)
    std::memcpy(dst.px.data() + static_cast<size_t>(r) * side,
                img.px.data() + static_cast<size_t>(y + r) * img.width + x, side);
}

void report(const Progress& progress, const std::string& who, int64_t done, int64_t total, const char* what) {
  const int64_t step = std::max<int64_t>(1, (total + 9) / 10);
  if (progress && (done % step == 0 || done == total))
    progress(fmt::format("{}: {}/{} {}", who, done, total, what));
}

void check_input_name(const std::string& name, std::initializer_list<const char*> taken) {
  TQ_CHECK(!name.empty(), "--input-name must not be empty");
  for (const char* t : taken)
    TQ_CHECK(name != t, "--input-name '{}' clashes with the array '{}' of this set", name, t);
}

}  // namespace

NamedTensors filter_pairs(const std::string& photo_dir, const FilterPairsOptions& o,
                          const Progress& progress) {
  const std::string who = "filter-pairs";
  TQ_CHECK(o.count >= 1 && o.count <= 10'000'000, "--count {} is out of range (1..10000000)", o.count);
  TQ_CHECK(o.size >= 8 && o.size <= 4096, "--size {} is out of range (8..4096)", o.size);
  TQ_CHECK(o.blur >= 0 && o.blur <= 20, "--blur {} is out of range (0..20)", o.blur);
  TQ_CHECK(o.jpeg >= 0 && o.jpeg <= 100, "--jpeg {} is out of range (0 = off, 1..100)", o.jpeg);
  TQ_CHECK(o.noise >= 0 && o.noise <= 1, "--noise {} is out of range (0..1)", o.noise);
  check_input_name(o.input_name, {"clean", "photo", "box"});

  std::vector<Photo> photos = load_split(photo_dir, o.split, o.size, who, progress);
  // The recipe runs on whole photos, so crops see real pixels around them, not a border rule.
  std::vector<Luma8> degraded;
  for (const Photo& p : photos) {
    Luma8 d = gaussian_blur(p.img, o.blur);
    if (o.jpeg > 0) d = jpeg_roundtrip(d, o.jpeg);
    degraded.push_back(std::move(d));
  }
  if (progress)
    progress(fmt::format("{}: degraded {} photo(s) (blur sigma {}, JPEG quality {}, noise sigma {})", who,
                         photos.size(), o.blur, o.jpeg, o.noise));

  const int64_t n = o.count, s = o.size, plane = s * s;
  Tensor deg = Tensor::empty(DType::F32, {n, 1, s, s});
  Tensor clean = Tensor::empty(DType::F32, {n, 1, s, s});
  Tensor photo = Tensor::empty(DType::I32, {n});
  Tensor box = Tensor::empty(DType::I32, {n, 3});
  Luma8 win;
  for (int64_t i = 0; i < n; ++i) {
    SplitMix64 rng(stream_seed(o.seed, kFilterPairsStream, static_cast<uint64_t>(i)));
    const size_t pi = static_cast<size_t>(i) % photos.size();
    const Luma8& img = photos[pi].img;
    const int y = static_cast<int>(rng.below(static_cast<uint64_t>(img.height - s + 1)));
    const int x = static_cast<int>(rng.below(static_cast<uint64_t>(img.width - s + 1)));
    const uint64_t noise_seed = rng.next();
    copy_window(img, y, x, static_cast<int>(s), win);
    to_unit(win, clean.data<float>() + i * plane);
    copy_window(degraded[pi], y, x, static_cast<int>(s), win);
    float* d = deg.data<float>() + i * plane;
    to_unit(win, d);
    add_gaussian_noise(d, static_cast<size_t>(plane), o.noise, noise_seed);
    photo.data<int32_t>()[i] = photos[pi].index;
    int32_t* b = box.data<int32_t>() + 3 * i;
    b[0] = y;
    b[1] = x;
    b[2] = static_cast<int32_t>(s);
    report(progress, who, i + 1, n, "crops");
  }
  return {{o.input_name, deg}, {"clean", clean}, {"photo", photo}, {"box", box}};
}

NamedTensors nr_frames(const std::string& photo_dir, const NrFramesOptions& o, const Progress& progress) {
  const std::string who = "nr-frames";
  TQ_CHECK(o.count >= 1 && o.count <= 10'000'000, "--count {} is out of range (1..10000000)", o.count);
  TQ_CHECK(o.size >= 16 && o.size <= 4096, "--size {} is out of range (16..4096)", o.size);
  check_input_name(o.input_name, {"level", "mos", "psnr", "photo", "box"});

  std::vector<Photo> photos = load_split(photo_dir, o.split, o.size, who, progress);
  const int64_t n = o.count, s = o.size, plane = s * s;
  Tensor frame = Tensor::empty(DType::F32, {n, 1, s, s});
  Tensor level = Tensor::empty(DType::F32, {n, 3});
  Tensor mos = Tensor::empty(DType::F32, {n});
  Tensor ps = Tensor::empty(DType::F32, {n});
  Tensor photo = Tensor::empty(DType::I32, {n});
  Tensor box = Tensor::empty(DType::I32, {n, 3});
  std::vector<float> clean(static_cast<size_t>(plane));
  Luma8 win;
  for (int64_t i = 0; i < n; ++i) {
    SplitMix64 rng(stream_seed(o.seed, kNrFramesStream, static_cast<uint64_t>(i)));
    const size_t pi = static_cast<size_t>(i) % photos.size();
    const Luma8& img = photos[pi].img;
    // Draw order is part of the format: changing it changes every set.
    const int64_t kmax = std::min<int64_t>(4, std::min(img.height, img.width) / s);
    const int k = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(kmax)));
    const int side = static_cast<int>(s) * k;
    const int y = static_cast<int>(rng.below(static_cast<uint64_t>(img.height - side + 1)));
    const int x = static_cast<int>(rng.below(static_cast<uint64_t>(img.width - side + 1)));
    const int quality = 10 + static_cast<int>(rng.below(86));
    const double blur = rng.below(3) == 0 ? 0.0 : (3 + static_cast<int>(rng.below(28))) / 10.0;
    const double noise = rng.below(3) == 0 ? 0.0 : (5 + static_cast<int>(rng.below(76))) / 1000.0;
    const uint64_t noise_seed = rng.next();

    copy_window(img, y, x, side, win);
    const Luma8 small = box_downscale(win, k);
    to_unit(small, clean.data());
    const Luma8 coded = jpeg_roundtrip(gaussian_blur(small, blur), quality);
    float* f = frame.data<float>() + i * plane;
    to_unit(coded, f);
    add_gaussian_noise(f, static_cast<size_t>(plane), noise, noise_seed);

    float* lv = level.data<float>() + 3 * i;
    lv[0] = static_cast<float>(quality);
    lv[1] = static_cast<float>(blur);
    lv[2] = static_cast<float>(noise);
    mos.data<float>()[i] = static_cast<float>(proxy_mos(quality, blur, noise));
    ps.data<float>()[i] = static_cast<float>(psnr(f, clean.data(), static_cast<size_t>(plane)));
    photo.data<int32_t>()[i] = photos[pi].index;
    int32_t* b = box.data<int32_t>() + 3 * i;
    b[0] = y;
    b[1] = x;
    b[2] = side;
    report(progress, who, i + 1, n, "frames");
  }
  return {{o.input_name, frame}, {"level", level}, {"mos", mos},
          {"psnr", ps},          {"photo", photo}, {"box", box}};
}

NamedTensors only(const NamedTensors& arrays, const std::string& name) {
  for (const auto& kv : arrays)
    if (kv.first == name) return {kv};
  fail("no array named '{}' in this set", name);
}

}  // namespace tinyqat::data
