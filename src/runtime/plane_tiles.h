// Running a plane model whose input size is fixed over a larger plane: windows of the model's size, each
// keeping only the samples at least `halo` (its receptive field, ir/receptive_field.h) away from a window
// edge that lies inside the plane. Windows are clamped inside the plane, so samples near the plane's own
// border come from a window that shares that border and see the model's own padding, exactly as a run on
// the whole plane would. The kept rectangles cover the plane once.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace tinyqat {

struct PlaneTile {
  int64_t x = 0, y = 0;                    // window origin in the plane (the window is tile_w × tile_h)
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // the samples kept from it: [x0, x1) × [y0, y1), plane coordinates
};

// Throws Error when the plane is smaller than the window, or when the halo leaves no sample inside a
// window (2·halo ≥ window) and the plane needs more than one window on that axis.
std::vector<PlaneTile> plane_tiles(int64_t w, int64_t h, int64_t tile_w, int64_t tile_h, int64_t halo);

// `in` and `out`: w × h floats, row-major. `run` maps one window (tile_w × tile_h floats, row-major) to
// its output of the same size.
using TileRun = std::function<void(const float* tile_in, float* tile_out)>;
void run_tiled(const float* in, int64_t w, int64_t h, int64_t tile_w, int64_t tile_h, int64_t halo,
               const TileRun& run, float* out);

}  // namespace tinyqat
