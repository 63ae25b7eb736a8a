#!/usr/bin/env bash
# Clipping on data the calibration never saw, and what --range-margin does about it (docs/quantization.md,
# "Range headroom"): vmaf_tiny_v4 calibrated on the rows of the Netflix features with the lower 73 % of
# VMAF scores (154 rows, VMAF <= 93.6), evaluated on all 211 rows; static PTQ with defaults otherwise.
#   bench/clipping.sh [MODEL.onnx] [MARGINS...]      (default ../shared/fork-models/vmaf_tiny_v4.onnx, 0 0.1 0.2)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-../shared/fork-models/vmaf_tiny_v4.onnx}"
shift || true
margins=("$@")
[[ ${#margins[@]} -gt 0 ]] || margins=(0 0.1 0.2)
csv=../shared/data/nflx_sv_features.csv
work="${WORK:-build/bench-clipping}"
tq="${TQ:-build/tinyqat}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -f $model && -f $csv ]] || { echo "SKIP: $model or $csv not found" >&2; exit 0; }
mkdir -p "$work"
awk -F, 'NR == 1 || $7 <= 93.6' "$csv" >"$work/lower.csv"
$tq data features --csv "$work/lower.csv" --out "$work/calib.npz" 2>/dev/null
$tq data features --csv "$csv" --out "$work/all.npz" 2>/dev/null
echo "| --range-margin | PLCC drop (all 211 rows) | max \\|int8 − fp32\\| | worst clipping (tensor: below / above, max overshoot) | PLCC drop on the 154 calibration rows |"
echo "|---|---|---|---|---|"
for m in "${margins[@]}"; do
  out="$work/$(basename "$model" .onnx).margin$m.onnx"
  $tq ptq "$model" -o "$out" --calibration "$work/calib.npz" --range-margin "$m" 2>"$work/ptq.margin$m.log"
  $tq compare "$model" "$out" --data "$work/all.npz" --per-layer --json >"$work/compare.margin$m.json"
  $tq compare "$model" "$out" --data "$work/calib.npz" --json >"$work/compare-calib.margin$m.json"
  node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), o = j.outputs[0];
let w = null;
for (const l of j.layers || []) {
  if (!l.clipping || l.pre_activation_of) continue;
  const s = l.clipping.below + l.clipping.above;
  if (!w || s > w.s) w = {s, l};
}
const c = w && w.s > 0 ? `${w.l.tensor}: ${(100 * w.l.clipping.below).toFixed(1)} % / ${(100 * w.l.clipping.above).toFixed(1)} %, ${w.l.clipping.max_overshoot.toFixed(2)}` : "none";
const k = JSON.parse(require("fs").readFileSync(process.argv[3], "utf8")).outputs[0];
console.log(`| ${process.argv[2]} | ${o.plcc_drop.toExponential(2)} | ${o.max_abs.toPrecision(3)} | ${c} | ${k.plcc_drop.toExponential(2)} |`);
' "$work/compare.margin$m.json" "$m" "$work/compare-calib.margin$m.json"
done
# The gate on the same data: clipping warnings and the bootstrap interval of the drop, per margin.
rm -rf "$work/registry"
for m in "${margins[@]}"; do
  $tq ptq "$model" -o "$work/gate.margin$m.onnx" --calibration "$work/calib.npz" --range-margin "$m" \
    --register "$work/registry/registry.json" --id "margin-${m//./_}" 2>/dev/null
done
$tq measure --all --registry "$work/registry/registry.json" --data "$work/all.npz" --confidence 0.95 || true
