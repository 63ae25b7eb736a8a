#!/usr/bin/env bash
# Frames per second of the fork's learned_filter_v1 (fixed 224×224 input) over 1920×1080 8-bit yuv420p
# luma through `tinyqat frames` (tiled, halo 10), at 1 and 2 threads: fp32, tinyqat's static int8 (made
# here with `tinyqat ptq` from photo crops) and the fork's shipped dynamic int8 twin; against ONNX Runtime
# fp32 running the same number of 224×224 tiles (its median per-tile latency × tiles per frame).
#   bench/frames.sh [MODELS_DIR]    FRAMES=5 (frames of synthetic video), PHOTOS=.cache/photos
# Needs tools/ort/node_modules (onnxruntime-node). Prints one markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
work="${WORK:-build/bench-frames}"
tq="${TQ:-build/tinyqat}"
frames="${FRAMES:-5}"
photos="${PHOTOS:-.cache/photos}"
[[ -d "$dir" ]] || { echo "SKIP: $dir not found (the fork's models)" >&2; exit 0; }
mkdir -p "$work/fp32" "$work/int8" "$work/fork"
w=1920 h=1080

# Synthetic video: smooth gradients, edges and noise in luma, flat chroma.
node -e '
const [w, h, n, out] = [+process.argv[1], +process.argv[2], +process.argv[3], process.argv[4]];
let s = 12345; const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const fd = require("fs").openSync(out, "w");
for (let f = 0; f < n; ++f) {
  const y = Buffer.alloc(w * h);
  for (let r = 0; r < h; ++r) for (let c = 0; c < w; ++c) {
    const v = 128 + 60 * Math.sin((c + 7 * f) / 37) * Math.cos(r / 23) + (((c >> 6) + (r >> 6)) % 2 ? 30 : -30) + 12 * (rnd() - 0.5);
    y[r * w + c] = Math.max(0, Math.min(255, Math.round(v)));
  }
  require("fs").writeSync(fd, y);
  require("fs").writeSync(fd, Buffer.alloc(w * h / 2, 128));
}
require("fs").closeSync(fd);' "$w" "$h" "$frames" "$work/in.yuv"

# fp32: the file alone (no sidecar: nothing points to the int8 twin). The fork's: file, twin and sidecar.
cp "$dir/learned_filter_v1.onnx" "$work/fp32/"
cp "$dir/learned_filter_v1.onnx" "$dir/learned_filter_v1.int8.onnx" "$dir/learned_filter_v1.json" "$work/fork/"
rows=("fp32 $work/fp32/learned_filter_v1.onnx")
if [[ -d "$photos" ]]; then
  "$tq" data filter-pairs --photos "$photos" --size 224 --count 32 --split train --input-name degraded --input-only \
    --out "$work/lf_calib.npz" >/dev/null 2>&1
  "$tq" ptq "$dir/learned_filter_v1.onnx" -o "$work/int8/learned_filter_v1.onnx" --mode static \
    --calibration "$work/lf_calib.npz" >/dev/null 2>&1
  rows+=("int8-static $work/int8/learned_filter_v1.onnx")
else
  echo "note: no photos in $photos (scripts/fetch_photos.sh): no static int8 row" >&2
fi
rows+=("int8-dynamic(fork) $work/fork/learned_filter_v1.onnx")

fps_of() { sed -nE 's/.* ([0-9.]+) fps\)$/\1/p' | tail -1; }
tiles=$("$tq" frames "$work/fp32/learned_filter_v1.onnx" --yuv "$work/in.yuv" --size ${w}x$h --max-frames 1 -q \
  --out "$work/out.yuv" 2>&1 | sed -nE 's/.* ([0-9]+) tiles of .*/\1/p')
echo "| model | threads | tinyqat frames fps | ORT fp32 fps (same $tiles tiles) | tinyqat / ORT fp32 |"
echo "|---|---|---|---|---|"
for threads in 1 2; do
  ort_ms=$(node tools/ort/ort_bench.js "$dir/learned_filter_v1.onnx" --shape degraded=1x1x224x224 \
    --threads "$threads" --iterations 30 --warmup 3 --json | sed -E 's/.*"median_ms": ?([0-9.]+).*/\1/')
  ort_fps=$(echo "1000 / ($ort_ms * $tiles)" | bc -l)
  for row in "${rows[@]}"; do
    read -r label model <<<"$row"
    fps=$("$tq" frames "$model" --yuv "$work/in.yuv" --size ${w}x$h --threads "$threads" -q --out "$work/out.yuv" 2>&1 |
      fps_of)
    printf '| %s | %d | %.3f | %.3f | %.2f |\n' "$label" "$threads" "$fps" "$ort_fps" "$(echo "$fps / $ort_fps" | bc -l)"
  done
done
