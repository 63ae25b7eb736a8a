// Training and evaluation sets built from real photos (Debian's python3-skimage ships them; see
// scripts/fetch_photos.sh) and from feature CSVs, as NamedTensors ready for write_npz.
//
// Reproducible by construction: the same photos and options give byte-identical arrays. Every random
// choice comes from SplitMix64 seeded per sample (never std::*_distribution, which differs between
// standard libraries); Gaussian noise is built from integers only (no libm); the Gaussian blur runs on
// 8-bit planes where OpenCV uses its bit-exact fixed-point path; JPEG is libjpeg-turbo's integer DCT.
// Sample i depends only on (seed, i, photos, options), so a larger --count extends a smaller one.
// OpenCV stays behind this header: nothing here exposes its types.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/npy.h"

namespace tinyqat::data {

// Progress and warnings for long work, one line each (the CLI prints them on stderr).
using Progress = std::function<void(const std::string& line)>;

// ---- photos --------------------------------------------------------------------------------------

// Image files (.png .jpg .jpeg .bmp .tif .tiff .webp, any case) directly inside `dir`, sorted by file
// name (byte order). Error naming `dir` when it is missing or holds no image (with a hint to run
// scripts/fetch_photos.sh).
std::vector<std::string> list_photos(const std::string& dir);

// The scene a photo shows: its file stem without a trailing "_left" or "_right", so the two views of
// a stereo pair (motorcycle_left/right) are one scene and always land in the same split.
std::string photo_scene(const std::string& path);

// Train/eval split by scene, never by crop: the distinct scenes sorted by name, scene number i
// (0-based) is held out for eval iff i % kEvalEvery == kEvalEvery - 1. So eval crops never come from a
// training photo.
enum class Split { Train, Eval, All };
constexpr int kEvalEvery = 4;
Split parse_split(const std::string& s);  // "train" | "eval" | "all"; Error otherwise
const char* split_name(Split s);
std::vector<bool> eval_mask(const std::vector<std::string>& photos);  // per photo: held out?
// Indices into `photos` that belong to split `s`, in order.
std::vector<size_t> select_split(const std::vector<std::string>& photos, Split s);

// One 8-bit luma plane, row-major.
struct Luma8 {
  int height = 0, width = 0;
  std::vector<uint8_t> px;
  uint8_t at(int y, int x) const { return px[static_cast<size_t>(y) * width + x]; }
};

// BT.601 luma of an RGB value in [0, 1]: Y = 0.299 R + 0.587 G + 0.114 B.
float luma_bt601(float r, float g, float b);
// The same for 8-bit values, rounded half up, computed in integers: (299 R + 587 G + 114 B + 500) / 1000.
uint8_t luma_bt601_u8(uint8_t r, uint8_t g, uint8_t b);

// Decodes an image file (PNG, JPEG, ...; gray, RGB or RGBA; 8 or 16 bit) into its luma plane (alpha is
// ignored, 16-bit is rounded to 8). Error naming the file when it cannot be read or decoded.
Luma8 load_luma(const std::string& path);
void write_png(const std::string& path, const Luma8& img);  // atomic
// `rgb` holds height·width interleaved R,G,B bytes. Atomic. (Tests make synthetic photos with it.)
void write_png_rgb(const std::string& path, int height, int width, const std::vector<uint8_t>& rgb);

// ---- raw video from photos (tinyqat data yuv) ------------------------------------------------------

// A short raw YUV 4:2:0 video from photos, what libvmaf and `tinyqat frames` read: each photo in turn
// gives `frames_per_photo` frames of a slow pan — a window of the frame's aspect ratio, 85 % of the
// largest that fits in the photo, moving from its left/top towards its right/bottom — resized (area) to
// width × height and converted to BT.709 limited range (Y 16..235, Cb/Cr 16..240; chroma the average of
// each 2×2 block), 8-bit yuv420p or 10-bit yuv420p10le (the same values × 4, little-endian). Width and
// height must be even, 16..8192. Deterministic; written atomically (streamed). Returns the frame count.
struct YuvVideoOptions {
  int width = 1280, height = 720;
  int frames_per_photo = 3;
  bool ten_bit = false;
};
int64_t write_yuv_from_photos(const std::vector<std::string>& photos, const std::string& out,
                              const YuvVideoOptions& o, const Progress& progress = {});

// ---- degradations (applied in this order: blur, JPEG, noise) --------------------------------------

// Odd kernel side for a Gaussian of standard deviation sigma: 2·ceil(3σ) + 1 (σ = 1.2 → 9).
int blur_kernel_size(double sigma);
// cv::GaussianBlur with that kernel and BORDER_REFLECT_101 on the 8-bit plane; sigma ≤ 0 copies.
Luma8 gaussian_blur(const Luma8& img, double sigma);
// Encodes as baseline grayscale JPEG at `quality` (1..100) and decodes again.
Luma8 jpeg_roundtrip(const Luma8& img, int quality);
// Averages k×k blocks (rounded half up): an exact integer downscale. Height and width must divide by k.
Luma8 box_downscale(const Luma8& img, int k);
// v / 255 into dst[0 .. h·w).
void to_unit(const Luma8& img, float* dst);
// Adds zero-mean Gaussian noise of standard deviation sigma (an Irwin–Hall sum of 12 uniforms from
// SplitMix64(seed): integers only, identical everywhere) and clamps to [0, 1]. sigma ≤ 0 does nothing.
void add_gaussian_noise(float* v, size_t n, double sigma, uint64_t seed);
// PSNR in dB of `a` against `b`, peak 1; identical inputs give 100 (the cap).
double psnr(const float* a, const float* b, size_t n);

// Proxy quality label in [0, 100] from the degradation parameters (documented in docs/data.md):
//   d_j = (95 − clamp(Q, 10, 95)) / 85,  d_b = clamp(σ_blur, 0, 3) / 3,  d_n = clamp(σ_noise, 0, 0.08) / 0.08
//   mos = 100 · (1 − 0.7 d_j²) · (1 − 0.8 d_b) · (1 − 0.8 d_n)
// Strictly decreasing in each degradation inside its range; 100 at Q ≥ 95 with no blur and no noise.
double proxy_mos(int jpeg_quality, double blur_sigma, double noise_sigma);

// ---- sets ------------------------------------------------------------------------------------------
//
// Every photo set also carries "photo" [N] int32 (index into list_photos(dir), i.e. into the full sorted
// folder, not into the split) and "box" [N,3] int32 (y, x, side of the photo region the sample shows).

// learned_filter pairs. The recipe is applied to each whole photo (blur σ, then JPEG at `jpeg`, then
// per-crop noise σ), and the same S×S window is cut from the clean and the degraded photo. Crop i comes
// from photo split[i mod P] at a position drawn from (seed, i). Photos smaller than S are skipped (a
// warning). Arrays: <input_name> (default "degraded") [N,1,S,S] and "clean" [N,1,S,S], float32 in [0, 1].
struct FilterPairsOptions {
  int64_t count = 512, size = 64;
  uint64_t seed = 0;
  Split split = Split::Train;
  double blur = 1.2;   // σ; 0 = no blur
  int jpeg = 35;       // quality 1..100; 0 = no JPEG
  double noise = 0.0;  // σ in [0, 1] units; 0 = none
  std::string input_name = "degraded";
};
NamedTensors filter_pairs(const std::string& photo_dir, const FilterPairsOptions& o,
                          const Progress& progress = {});

// nr_metric frames. Frame i: photo split[i mod P]; a square of side S·k (k drawn from 1..min(4, short/S))
// box-downscaled by k to S×S; then, drawn per frame: blur σ (0 with probability 1/3, else 0.3..3.0 in
// steps of 0.1), JPEG quality 10..95, noise σ (0 with probability 1/3, else 0.005..0.080 in steps of
// 0.005) applied in that order to the frame. Arrays: <input_name> (default "frame") [N,1,S,S] float32,
// "level" [N,3] (jpeg quality, blur σ, noise σ), "mos" [N] (proxy_mos of the level), "psnr" [N] (dB of the
// degraded frame against its clean version).
struct NrFramesOptions {
  int64_t count = 200, size = 224;
  uint64_t seed = 0;
  Split split = Split::Train;
  std::string input_name = "frame";
};
NamedTensors nr_frames(const std::string& photo_dir, const NrFramesOptions& o, const Progress& progress = {});

// VMAF feature CSV: a header row whose first six names are adm2, vif_scale0..3, motion2 and whose last
// is vmaf (any case), then one row per sample. Arrays: <input_name> (default "features") [N,6] and
// "vmaf" [N], float32. Error "FILE:LINE: problem" for a bad row (wrong field count, not a finite number).
NamedTensors features_from_csv(const std::string& csv_path, const std::string& input_name = "features");

// Keeps only the array named `name` (the model input): what `tinyqat run --input X.npz` and calibration
// want (one array per graph input).
NamedTensors only(const NamedTensors& arrays, const std::string& name);

// Tiles the first `max_cols` samples of each [N,1,S,S] tensor into one row per tensor (values in [0,1],
// 2-pixel gaps): a quick visual check of a set.
Luma8 contact_sheet(const std::vector<Tensor>& rows, int64_t max_cols);

}  // namespace tinyqat::data
