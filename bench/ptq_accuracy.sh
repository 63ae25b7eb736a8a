#!/usr/bin/env bash
# PTQ accuracy on the fork's models: dynamic, and static with every calibration method and both
# activation presets, each measured against its fp32 original on held-out data (docs/benchmarks.md).
#   bench/ptq_accuracy.sh [MODELS_DIR]      (default ../shared/fork-models; needs scripts/fetch_photos.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
work="${WORK:-build/bench-ptq}"
tq="${TQ:-build/tinyqat}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d "$dir" ]] || { echo "SKIP: $dir not found (the fork's models)" >&2; exit 0; }
[[ -d .cache/photos ]] || bash scripts/fetch_photos.sh >/dev/null
mkdir -p "$work"
# Calibration from training photos, evaluation on held-out photos (split by scene).
$tq data filter-pairs --size 224 --count 32 --split train --input-name degraded --input-only --out "$work/lf_calib.npz" 2>/dev/null
$tq data filter-pairs --size 224 --count 64 --split eval --seed 7 --input-name degraded --out "$work/lf_eval.npz" 2>/dev/null
$tq data nr-frames --size 224 --count 64 --split train --input-only --out "$work/nr_calib.npz" 2>/dev/null
$tq data nr-frames --size 224 --count 200 --split eval --seed 7 --out "$work/nr_eval.npz" 2>/dev/null
$tq data features --csv ../shared/data/nflx_sv_features.csv --out "$work/features.npz" 2>/dev/null

row() {  # model label args...
  local model=$1 label=$2 calib=$3 eval=$4 target=$5; shift 5
  local out="$work/$(basename "$model" .onnx).$label.onnx"
  $tq ptq "$dir/$model" -o "$out" "$@" ${calib:+--calibration "$calib"} 2>/dev/null
  local j
  j=$($tq compare "$dir/$model" "$out" --data "$eval" ${target:+--target "$target"} --json)
  node -e '
const j = JSON.parse(process.argv[1]), o = j.outputs[0];
const t = o.int8_target_psnr !== undefined ? `${o.fp32_target_psnr.toFixed(2)} → ${o.int8_target_psnr.toFixed(2)}` : "";
console.log(`| ${process.argv[2]} | ${process.argv[3]} | ${o.plcc_drop.toExponential(2)} | ${o.srocc.toFixed(5)} | ${o.rmse.toPrecision(3)} | ${t} |`);
' "$j" "$model" "$label"
}
echo "| model | mode | PLCC drop vs fp32 | SROCC | RMSE | PSNR vs clean (fp32 → int8) |"
echo "|---|---|---|---|---|---|"
for spec in "learned_filter_v1.onnx:$work/lf_calib.npz:$work/lf_eval.npz:clean" \
            "nr_metric_v1.onnx:$work/nr_calib.npz:$work/nr_eval.npz:" \
            "vmaf_tiny_v4.onnx:$work/features.npz:$work/features.npz:"; do
  IFS=: read -r model calib eval target <<<"$spec"
  row "$model" dynamic "" "$eval" "$target" --mode dynamic
  for act in asymmetric symmetric; do
    for method in minmax percentile entropy mse; do
      row "$model" "static-$act-$method" "$calib" "$eval" "$target" --mode static --activations "$act" --method "$method"
    done
  done
done
