#include "runtime/plane_tiles.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace tinyqat {

namespace {

struct Span {
  int64_t at, keep0, keep1;
};

// One axis: windows of `t` over `n` samples.
std::vector<Span> spans(int64_t n, int64_t t, int64_t halo, const char* axis) {
  TQ_CHECK(n > 0 && t > 0, "plane tiles: {} {} with windows of {}", axis, n, t);
  TQ_CHECK(t <= n, "plane tiles: the plane's {} ({}) is smaller than the model's ({})", axis, n, t);
  if (t == n) return {{0, 0, n}};
  TQ_CHECK(2 * halo < t,
           "plane tiles: a receptive field of {} samples each side leaves nothing inside a window of {}",
           halo, t);
  std::vector<Span> out;
  int64_t c = 0;
  while (c < n) {
    int64_t at = c == 0 ? 0 : c - halo;
    if (at + t >= n) {
      out.push_back({n - t, c, n});
      break;
    }
    out.push_back({at, c, at + t - halo});
    c = at + t - halo;
  }
  return out;
}

}  // namespace

std::vector<PlaneTile> plane_tiles(int64_t w, int64_t h, int64_t tile_w, int64_t tile_h, int64_t halo) {
  TQ_CHECK(halo >= 0, "plane tiles: negative halo {}", halo);
  const std::vector<Span> xs = spans(w, tile_w, halo, "width"), ys = spans(h, tile_h, halo, "height");
  std::vector<PlaneTile> tiles;
  tiles.reserve(xs.size() * ys.size());
  for (const Span& y : ys)
    for (const Span& x : xs) tiles.push_back({x.at, y.at, x.keep0, y.keep0, x.keep1, y.keep1});
  return tiles;
}

void run_tiled(const float* in, int64_t w, int64_t h, int64_t tile_w, int64_t tile_h, int64_t halo,
               const TileRun& run, float* out) {
  const std::vector<PlaneTile> tiles = plane_tiles(w, h, tile_w, tile_h, halo);
  if (tiles.size() == 1) {  // the window is the plane
    run(in, out);
    return;
  }
  std::vector<float> win(size_t(tile_w * tile_h)), res(win.size());
  for (const PlaneTile& t : tiles) {
    for (int64_t r = 0; r < tile_h; ++r)
      std::memcpy(&win[size_t(r * tile_w)], in + (t.y + r) * w + t.x, size_t(tile_w) * sizeof(float));
    run(win.data(), res.data());
    for (int64_t y = t.y0; y < t.y1; ++y)
      std::memcpy(out + y * w + t.x0, &res[size_t((y - t.y) * tile_w + (t.x0 - t.x))],
                  size_t(t.x1 - t.x0) * sizeof(float));
  }
}

}  // namespace tinyqat
