// `tinyqat frames` and what it is made of: the tile plan (runtime/plane_tiles.h), the receptive field
// (ir/receptive_field.h), a fixed-size filter tiled over a larger frame against a whole-frame run of a
// dynamic-size copy of the same weights, scores and filtered videos against the fork-compatible API run
// frame by frame, and bad input (exit 2, one line naming the file, nothing written).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "core/file_util.h"
#include "io/npy.h"
#include "ir/builder.h"
#include "ir/receptive_field.h"
#include "onnx/onnx_io.h"
#include "runtime/executor.h"
#include "runtime/plane_tiles.h"
#include "support/test_support.h"
#include "tinyqat/vmaf_dnn.h"
#include "zoo/zoo.h"

namespace tinyqat::test {
namespace {

// The model with its input's H and W pinned (a copy of the same weights).
Model pinned(Model m, int64_t h, int64_t w) {
  auto& shape = m.graph.inputs.at(0).shape;
  shape[2] = Dim::known(h);
  shape[3] = Dim::known(w);
  m.graph.value_info.clear();
  for (auto& o : m.graph.outputs) {
    o.has_shape = false;
    o.shape.clear();
  }
  infer_shapes(m);
  return m;
}

// `frames` frames of w × h 4:2:0 video: luma from luma_images, chroma a pattern of its own.
std::vector<uint8_t> make_yuv(int64_t frames, int64_t w, int64_t h, int sample) {
  const Tensor luma = luma_images(frames, h, w, 7);
  const int64_t max = sample == 1 ? 255 : 1023;
  std::vector<uint8_t> out;
  Rng rng(11);
  for (int64_t f = 0; f < frames; ++f) {
    for (int64_t i = 0; i < w * h; ++i) {
      const uint16_t v = uint16_t(std::lround(std::clamp(luma.data<float>()[f * w * h + i], 0.f, 1.f) * max));
      out.push_back(uint8_t(v & 0xff));
      if (sample == 2) out.push_back(uint8_t(v >> 8));
    }
    for (int64_t i = 0; i < 2 * (w / 2) * (h / 2); ++i) {
      const uint16_t v = uint16_t(rng.next() % uint32_t(max + 1));
      out.push_back(uint8_t(v & 0xff));
      if (sample == 2) out.push_back(uint8_t(v >> 8));
    }
  }
  return out;
}

std::vector<uint8_t> bytes_of(const fs::path& p) {
  return read_file(p.string());
}

TEST(Frames, PlaneTilesKeepEverySampleOnceAwayFromInnerWindowEdges) {
  for (auto [w, h, tw, th, halo] : std::vector<std::array<int64_t, 5>>{{70, 50, 32, 32, 6},
                                                                       {1920, 1080, 224, 224, 10},
                                                                       {33, 32, 32, 32, 15},
                                                                       {32, 32, 32, 32, 40},
                                                                       {100, 41, 9, 41, 4}}) {
    SCOPED_TRACE(fmt::format("{}x{} tiles {}x{} halo {}", w, h, tw, th, halo));
    std::vector<int> seen(size_t(w * h), 0);
    for (const PlaneTile& t : plane_tiles(w, h, tw, th, halo)) {
      ASSERT_GE(t.x, 0);
      ASSERT_GE(t.y, 0);
      ASSERT_LE(t.x + tw, w);
      ASSERT_LE(t.y + th, h);
      // Kept samples are `halo` away from every window edge that is not the plane's edge.
      EXPECT_TRUE(t.x0 == 0 || t.x0 >= t.x + halo);
      EXPECT_TRUE(t.y0 == 0 || t.y0 >= t.y + halo);
      EXPECT_TRUE(t.x1 == w || t.x1 <= t.x + tw - halo);
      EXPECT_TRUE(t.y1 == h || t.y1 <= t.y + th - halo);
      for (int64_t y = t.y0; y < t.y1; ++y)
        for (int64_t x = t.x0; x < t.x1; ++x) ++seen[size_t(y * w + x)];
    }
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "sample " << i;
  }
  EXPECT_THROW(plane_tiles(20, 50, 32, 32, 2), Error);   // plane narrower than the window
  EXPECT_THROW(plane_tiles(70, 50, 32, 32, 16), Error);  // the halo leaves nothing inside
}

TEST(Frames, ReceptiveFieldCountsConvReachAndRefusesMixingOps) {
  // learned_filter(1, 8, 2 blocks): 1 + 2·2 + 1 convs 3×3, stride 1.
  const Model f = zoo::learned_filter(1, 8, 2, 1);
  ReceptiveField rf = receptive_field(f.graph, f.graph.inputs[0].name);
  EXPECT_EQ(rf.halo, 6);
  EXPECT_EQ(rf.stride, 1);
  EXPECT_EQ(rf.nonlocal, "");
  // QDQ weights (a DequantizeLinear output: the kernel comes from the inferred shape) and dilation:
  // 5×5 pad 2 reaches 2, then 5×5 dilation 2 pad 4 reaches 4.
  GraphBuilder b;
  const std::string x = b.input("x", DType::F32, {"N", 1, "H", "W"});
  const std::string s = b.constant("s", Tensor::scalar_f32(0.1f));
  const std::string w1 =
      b.op("DequantizeLinear", {b.constant("w1", Tensor::zeros(DType::I8, {4, 1, 5, 5})), s});
  const std::string w2 =
      b.op("DequantizeLinear", {b.constant("w2", Tensor::zeros(DType::I8, {1, 4, 5, 5})), s});
  const std::string y1 = b.op("Conv", {x, w1}, {{"pads", Attribute::of_ints({2, 2, 2, 2})}});
  const std::string y2 =
      b.op("Conv", {y1, w2},
           {{"pads", Attribute::of_ints({4, 4, 4, 4})}, {"dilations", Attribute::of_ints({2, 2})}});
  b.output(y2, "y");
  const Model q = b.finish();
  rf = receptive_field(q.graph, "x");
  EXPECT_EQ(rf.halo, 6);
  EXPECT_EQ(rf.nonlocal, "");
  // nr_metric ends in a global pool and a Linear: not tileable.
  const Model m = zoo::nr_metric(1, 4, 1);
  rf = receptive_field(m.graph, m.graph.inputs[0].name);
  EXPECT_NE(rf.nonlocal, "");
  EXPECT_GT(rf.stride, 1);
}

TEST(Frames, TiledFixedSizeFilterEqualsTheWholeFrameRunOfADynamicCopy) {
  const Model dyn = zoo::learned_filter(1, 8, 2, 3);
  const Model fixed = pinned(dyn, 32, 32);
  const int64_t w = 70, h = 50;
  const Tensor x = luma_images(1, h, w, 5);
  Executor whole(dyn), tile(fixed);
  const Tensor ref = whole.run({{"degraded", x}})[0];
  ASSERT_EQ(ref.numel(), w * h);
  const ReceptiveField rf = receptive_field(fixed.graph, "degraded");
  std::vector<float> out(size_t(w * h), -1.f);
  int runs = 0;
  run_tiled(
      x.data<float>(), w, h, 32, 32, rf.halo,
      [&](const float* in, float* o) {
        Tensor t = Tensor::empty(DType::F32, {1, 1, 32, 32});
        std::memcpy(t.data<float>(), in, 32 * 32 * sizeof(float));
        const Tensor r = tile.run({{"degraded", t}})[0];
        std::memcpy(o, r.data<float>(), 32 * 32 * sizeof(float));
        ++runs;
      },
      out.data());
  EXPECT_EQ(runs, 3 * 2);  // 70 wide: windows at 0, 20, 38 keep [0,26) [26,46) [46,70); 50 high: 0, 18
  double worst = 0;
  int64_t moved = 0;
  for (int64_t i = 0; i < w * h; ++i) {
    worst = std::max(worst, double(std::fabs(out[size_t(i)] - ref.data<float>()[i])));
    moved += std::fabs(ref.data<float>()[i] - x.data<float>()[i]) > 1e-3f;
  }
  EXPECT_LE(worst, 1e-5) << "tiled vs whole frame, edges included";
  EXPECT_GT(moved, w * h / 2) << "the filter must change the frame for the comparison to mean something";
  // Without the halo the tiles differ (the test can fail).
  run_tiled(
      x.data<float>(), w, h, 32, 32, 0,
      [&](const float* in, float* o) {
        Tensor t = Tensor::empty(DType::F32, {1, 1, 32, 32});
        std::memcpy(t.data<float>(), in, 32 * 32 * sizeof(float));
        std::memcpy(o, tile.run({{"degraded", t}})[0].data<float>(), 32 * 32 * sizeof(float));
      },
      out.data());
  worst = 0;
  for (int64_t i = 0; i < w * h; ++i)
    worst = std::max(worst, double(std::fabs(out[size_t(i)] - ref.data<float>()[i])));
  EXPECT_GT(worst, 1e-4);
}

struct Planes {
  VmafDnnSession* s = nullptr;
  explicit Planes(const fs::path& model) {
    VmafDnnConfig cfg{VMAF_DNN_DEVICE_CPU, 0, 1, false};
    EXPECT_EQ(vmaf_dnn_session_open(&s, model.c_str(), &cfg), 0) << model;
  }
  ~Planes() { vmaf_dnn_session_close(s); }
};

TEST(Frames, ScoresOneRowPerFrameEqualToTheSessionRunOnEachFrame) {
  const fs::path dir = temp_dir("frames-scores");
  export_onnx(zoo::nr_metric(1, 4, 2), (dir / "nr.onnx").string());
  const int64_t w = 64, h = 48, n = 3;
  const std::vector<uint8_t> video = make_yuv(n, w, h, 1);
  write_file_atomic((dir / "in.yuv").string(), video);
  CliResult r = cli(fmt::format("frames {0}/nr.onnx --yuv {0}/in.yuv --size {1}x{2} --scores {0}/s.csv",
                                dir.string(), w, h),
                    dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream csv(text_of(dir / "s.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "frame,score");
  Planes p(dir / "nr.onnx");
  const size_t frame_bytes = size_t(w * h * 3 / 2);
  int64_t rows = 0;
  while (std::getline(csv, line)) {
    int64_t f = -1;
    float score = NAN;
    ASSERT_EQ(std::sscanf(line.c_str(), "%lld,%f", reinterpret_cast<long long*>(&f), &score), 2) << line;
    ASSERT_EQ(f, rows);
    std::vector<float> plane(size_t(w * h));
    for (size_t i = 0; i < plane.size(); ++i)  // as run_luma8 scales (planes.cpp)
      plane[i] = float(video[size_t(f) * frame_bytes + i]) * (1.f / 255.f);
    const int64_t shape[4] = {1, 1, h, w};
    VmafDnnInput in{nullptr, plane.data(), shape, 4};
    float want = NAN;
    VmafDnnOutput out{nullptr, &want, 1, 0};
    ASSERT_EQ(vmaf_dnn_session_run(p.s, &in, 1, &out, 1), 0);
    EXPECT_EQ(score, want) << "frame " << f;
    ++rows;
  }
  EXPECT_EQ(rows, n);
  // --max-frames
  r = cli(
      fmt::format("frames {0}/nr.onnx --yuv {0}/in.yuv --size {1}x{2} --scores {0}/s2.csv --max-frames 2 -q",
                  dir.string(), w, h),
      dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string two = text_of(dir / "s2.csv");
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 3) << two;
}

// TINYQAT_RECORD through the libvmaf layer: the planes the model was fed (normalised, as it sees them)
// land in an .npz that calibrates static PTQ; a bad TINYQAT_RECORD_SAMPLES refuses the open.
TEST(Frames, RecordedPlanesCalibrateStaticPtq) {
  const fs::path dir = temp_dir("frames-record");
  export_onnx(zoo::nr_metric(1, 4, 2), (dir / "nr.onnx").string());
  const int64_t w = 64, h = 48, n = 5;
  const std::vector<uint8_t> video = make_yuv(n, w, h, 1);
  write_file_atomic((dir / "in.yuv").string(), video);
  const std::string args = fmt::format(
      "frames {0}/nr.onnx --yuv {0}/in.yuv --size {1}x{2} --scores {0}/s.csv -q", dir.string(), w, h);
  ::setenv("TINYQAT_RECORD", (dir / "rec.npz").c_str(), 1);
  ::setenv("TINYQAT_RECORD_SAMPLES", "3", 1);
  CliResult r = cli(args, dir);
  ::setenv("TINYQAT_RECORD_SAMPLES", "many", 1);
  CliResult bad = cli(args, dir);
  ::unsetenv("TINYQAT_RECORD");
  ::unsetenv("TINYQAT_RECORD_SAMPLES");
  ASSERT_EQ(r.code, 0) << r.err;
  const NamedTensors rec = read_npz((dir / "rec.npz").string());
  ASSERT_GE(rec.size(), 1u);
  EXPECT_EQ(rec[0].second.shape(), (Shape{3, 1, h, w})) << "3 of the 5 frames";
  for (int64_t k = 0; k < 3; ++k) {  // each is one frame's luma / 255
    const float* row = rec[0].second.data<float>() + k * w * h;
    int match = -1;
    for (int64_t f = 0; f < n && match < 0; ++f) {
      bool same = true;
      for (int64_t i = 0; i < w * h && same; ++i)
        same = row[i] == float(video[size_t(f * w * h * 3 / 2 + i)]) * (1.f / 255.f);
      if (same) match = int(f);
    }
    EXPECT_GE(match, 0) << "recorded plane " << k << " is no frame's luma";
  }
  CliResult ptq =
      cli(fmt::format("ptq {0}/nr.onnx --mode static --calibration {0}/rec.npz -o {0}/nr.int8.onnx",
                      dir.string()),
          dir);
  EXPECT_EQ(ptq.code, 0) << ptq.err;
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("TINYQAT_RECORD_SAMPLES='many'"), std::string::npos) << bad.err;
}

TEST(Frames, MetricPinnedToASmallerSizeScoresTheAreaResizedFrame) {
  // nr_metric pinned to 32×32 on 64×64 frames: each model sample is the mean of a 2×2 block.
  const fs::path dir = temp_dir("frames-resize");
  export_onnx(pinned(zoo::nr_metric(1, 4, 2), 32, 32), (dir / "nr32.onnx").string());
  const int64_t w = 64, h = 64, n = 2;
  const std::vector<uint8_t> video = make_yuv(n, w, h, 1);
  write_file_atomic((dir / "in.yuv").string(), video);
  CliResult r =
      cli(fmt::format("frames {0}/nr32.onnx --yuv {0}/in.yuv --size 64x64 --scores {0}/s.csv", dir.string()),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("frames resized to 32x32"), std::string::npos) << r.err;
  std::istringstream csv(text_of(dir / "s.csv"));
  std::string line;
  std::getline(csv, line);
  Planes p(dir / "nr32.onnx");
  for (int64_t f = 0; f < n; ++f) {
    ASSERT_TRUE(std::getline(csv, line));
    const float score = std::stof(line.substr(line.find(',') + 1));
    const uint8_t* y = video.data() + size_t(f * w * h * 3 / 2);
    std::vector<float> small(32 * 32);
    for (int64_t r2 = 0; r2 < 32; ++r2)
      for (int64_t c = 0; c < 32; ++c)
        small[size_t(r2 * 32 + c)] = (float(y[2 * r2 * w + 2 * c]) + y[2 * r2 * w + 2 * c + 1] +
                                      y[(2 * r2 + 1) * w + 2 * c] + y[(2 * r2 + 1) * w + 2 * c + 1]) /
                                     4.f / 255.f;
    const int64_t shape[4] = {1, 1, 32, 32};
    VmafDnnInput in{nullptr, small.data(), shape, 4};
    float want = NAN;
    VmafDnnOutput out{nullptr, &want, 1, 0};
    ASSERT_EQ(vmaf_dnn_session_run(p.s, &in, 1, &out, 1), 0);
    EXPECT_NEAR(score, want, 1e-5 * std::max(1.f, std::fabs(want))) << "frame " << f;
  }
}

// The video through `frames --out` against run_luma8 / run_plane16 of `reference` on each whole frame.
void check_filtered(const fs::path& dir, const std::string& model, const fs::path& reference, int sample,
                    int max_level_diff) {
  const int64_t w = 70, h = 50, n = 2;
  const std::vector<uint8_t> video = make_yuv(n, w, h, sample);
  write_file_atomic((dir / "in.yuv").string(), video);
  CliResult r = cli(fmt::format("frames {} --yuv {}/in.yuv --size {}x{} --pix-fmt {} --out {}/out.yuv", model,
                                dir.string(), w, h, sample == 1 ? "yuv420p" : "yuv420p10le", dir.string()),
                    dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<uint8_t> got = bytes_of(dir / "out.yuv");
  ASSERT_EQ(got.size(), video.size());
  Planes p(reference);
  const size_t luma = size_t(w * h * sample), frame = luma * 3 / 2;
  int64_t changed = 0, off = 0;
  for (int64_t f = 0; f < n; ++f) {
    const uint8_t* in = video.data() + size_t(f) * frame;
    const uint8_t* out = got.data() + size_t(f) * frame;
    EXPECT_EQ(std::memcmp(in + luma, out + luma, frame - luma), 0) << "chroma of frame " << f << " changed";
    std::vector<uint8_t> want(luma);
    if (sample == 1) {
      ASSERT_EQ(vmaf_dnn_session_run_luma8(p.s, in, size_t(w), int(w), int(h), want.data(), size_t(w)), 0);
    } else {
      std::vector<uint16_t> a(size_t(w * h)), b(size_t(w * h));
      std::memcpy(a.data(), in, luma);
      ASSERT_EQ(vmaf_dnn_session_run_plane16(p.s, a.data(), size_t(w) * 2, int(w), int(h), 10, b.data(),
                                             size_t(w) * 2),
                0);
      std::memcpy(want.data(), b.data(), luma);
    }
    for (size_t i = 0; i < luma; i += size_t(sample)) {
      int a = out[i], b = want[i], c = in[i];
      if (sample == 2) {
        a |= out[i + 1] << 8;
        b |= want[i + 1] << 8;
        c |= in[i + 1] << 8;
      }
      ASSERT_LE(std::abs(a - b), max_level_diff) << "frame " << f << " sample " << i / size_t(sample);
      off += a != b;
      changed += a != c;
    }
  }
  EXPECT_LE(off, 2) << "rounding ties only";
  EXPECT_GT(changed, n * w * h / 4) << "the filter must change the luma";
}

TEST(Frames, FilterReplacesLumaCopiesChromaAndTilesFixedSizeModels) {
  const fs::path dir = temp_dir("frames-filter");
  const Model dyn = zoo::learned_filter(1, 8, 2, 4);
  export_onnx(dyn, (dir / "lf.onnx").string());
  export_onnx(pinned(dyn, 32, 32), (dir / "lf32.onnx").string());
  {
    SCOPED_TRACE("dynamic size, 8 bits");
    check_filtered(dir, (dir / "lf.onnx").string(), dir / "lf.onnx", 1, 0);
  }
  {
    SCOPED_TRACE("dynamic size, 10 bits");
    check_filtered(dir, (dir / "lf.onnx").string(), dir / "lf.onnx", 2, 0);
  }
  {
    SCOPED_TRACE("fixed 32x32, tiled over 70x50");
    check_filtered(dir, (dir / "lf32.onnx").string(), dir / "lf.onnx", 1, 1);
  }
}

TEST(Frames, BadInputExitsTwoWithOneLineAndWritesNothing) {
  const fs::path dir = temp_dir("frames-bad");
  const Model lf = zoo::learned_filter(1, 8, 2, 4);
  export_onnx(lf, (dir / "lf.onnx").string());
  export_onnx(pinned(lf, 32, 32), (dir / "lf32.onnx").string());
  export_onnx(zoo::nr_metric(1, 4, 2), (dir / "nr.onnx").string());
  write_file_atomic((dir / "in.yuv").string(), make_yuv(2, 64, 48, 1));
  std::vector<uint8_t> odd = make_yuv(2, 64, 48, 1);
  odd.resize(odd.size() - 100);
  write_file_atomic((dir / "cut.yuv").string(), odd);
  const std::string d = dir.string();
  struct Case {
    std::string args, want;
  };
  const std::vector<Case> cases = {
      {"frames D/lf.onnx --yuv D/cut.yuv --size 64x48 --out D/o.yuv",
       "cut.yuv: 9116 bytes is not a whole number"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 64x40 --out D/o.yuv",
       "in.yuv: 9216 bytes is not a whole number"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 64by48 --out D/o.yuv",
       "--size '64by48': expected WIDTHxHEIGHT"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 0x48 --out D/o.yuv", "--size '0x48'"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 63x48 --out D/o.yuv", "needs an even width and height"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 64x48", "give exactly one of --scores"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 64x48 --out D/o.yuv --scores D/o.csv", "give exactly one of"},
      {"frames D/nr.onnx --yuv D/in.yuv --size 64x48 --out D/o.yuv", "nr.onnx: a metric model"},
      {"frames D/lf.onnx --yuv D/in.yuv --size 64x48 --scores D/o.csv", "lf.onnx: a filter"},
      {"frames D/lf.onnx --yuv D/missing.yuv --size 64x48 --out D/o.yuv", "missing.yuv: cannot open"},
      {"frames D/none.onnx --yuv D/in.yuv --size 64x48 --out D/o.yuv", "none.onnx"},
      {"frames D/lf32.onnx --yuv D/in.yuv --size 64x48 --pix-fmt yuv420p --out D/o.yuv", ""},  // tiles: fine
  };
  for (const Case& c : cases) {
    std::string args = c.args;
    for (size_t at; (at = args.find("D/")) != std::string::npos;) args.replace(at, 1, d);
    SCOPED_TRACE(args);
    fs::remove(dir / "o.yuv");
    CliResult r = cli(args, dir);
    if (c.want.empty()) {
      EXPECT_EQ(r.code, 0) << r.err;
      continue;
    }
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir / "o.yuv"));
    EXPECT_FALSE(fs::exists(dir / "o.csv"));
  }
  // A pinned filter on frames smaller than its input.
  write_file_atomic((dir / "small.yuv").string(), make_yuv(1, 16, 16, 1));
  fs::remove(dir / "o.yuv");
  CliResult r =
      cli(fmt::format("frames {0}/lf32.onnx --yuv {0}/small.yuv --size 16x16 --out {0}/o.yuv", d), dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("lf32.onnx: cannot run over 16x16 frames"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.yuv"));
  // --help shows the defaults.
  r = cli("frames --help", dir);
  EXPECT_EQ(r.code, 0);
  for (const char* want : {"--pix-fmt TEXT:{yuv420p,yuv420p10le}=yuv420p", "--threads", "=1", "--max-frames",
                           "--scores", "--out", "--quiet"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
}

TEST(Frames, ForkLearnedFilterTilesOverAFullHdFrame) {
  const fs::path shared = shared_dir();
  if (shared.empty()) GTEST_SKIP() << "SKIP: ../shared (the fork's models) is not here";
  const fs::path dir = temp_dir("frames-fork");
  const Model m = import_onnx((shared / "fork-models/learned_filter_v1.onnx").string());
  const ReceptiveField rf = receptive_field(m.graph, m.graph.inputs[0].name);
  EXPECT_EQ(rf.nonlocal, "");
  EXPECT_EQ(rf.halo, 10);  // ten 3×3 convs
  const int64_t w = 480, h = 270;
  write_file_atomic((dir / "in.yuv").string(), make_yuv(1, w, h, 1));
  CliResult r =
      cli(fmt::format("frames {}/fork-models/learned_filter_v1.onnx --yuv {}/in.yuv --size {}x{} --out "
                      "{}/out.yuv -q",
                      shared.string(), dir.string(), w, h, dir.string()),
          dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("6 tiles of 224x224 a frame, halo 10"), std::string::npos) << r.err;
  EXPECT_EQ(bytes_of(dir / "out.yuv").size(), size_t(w * h * 3 / 2));
}

}  // namespace
}  // namespace tinyqat::test
