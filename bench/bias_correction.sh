#!/usr/bin/env bash
# Static PTQ with and without empirical bias correction (`ptq --bias-correction off|on`, defaults
# otherwise), each measured against its fp32 original on data the calibration never saw
# (docs/quantization.md, "Bias correction"):
#   - nr_metric_v1: 32 and 128 train-photo frames to calibrate, 128 eval-photo frames (seed 7) to measure;
#   - learned_filter_v1: 8 train crops (224²) to calibrate, 16 eval crops, PSNR against the clean images;
#   - vmaf_tiny_v4: calibrated on the rows of the Netflix features with the lower 73 % of VMAF scores,
#     measured on all 211 rows (the clipping case of bench/clipping.sh), and calibrated on all of them;
#   - a model the fork does not have: the zoo's nr_metric at width 24, trained here for 6 epochs on 400
#     train-photo frames (proxy MOS), measured like nr_metric_v1.
#   bench/bias_correction.sh [MODELS_DIR]      (default ../shared/fork-models; needs scripts/fetch_photos.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
work="${WORK:-build/bench-bias}"
tq="${TQ:-build/tinyqat}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d .cache/photos ]] || bash scripts/fetch_photos.sh >/dev/null
mkdir -p "$work"
$tq data nr-frames --count 32 --input-only -o "$work/nr_cal32.npz" 2>/dev/null
$tq data nr-frames --count 128 --input-only -o "$work/nr_cal128.npz" 2>/dev/null
$tq data nr-frames --count 128 --split eval --seed 7 -o "$work/nr_eval.npz" 2>/dev/null
$tq data filter-pairs --size 224 --count 8 --split train --input-name degraded --input-only -o "$work/lf_cal.npz" 2>/dev/null
$tq data filter-pairs --size 224 --count 16 --split eval --seed 7 --input-name degraded -o "$work/lf_eval.npz" 2>/dev/null
# The model built here: trained on train-photo frames, validated on eval-photo frames of another seed.
$tq data nr-frames --count 400 -o "$work/own_train.npz" 2>/dev/null
$tq data nr-frames --count 100 --split eval --seed 3 -o "$work/own_val.npz" 2>/dev/null
cat >"$work/own.yaml" <<YAML
model: nr_metric
model_args: {width: 24}
data: {train: $work/own_train.npz, eval: $work/own_val.npz, input: frame, target: mos}
loss: mse
epochs: 6
batch_size: 16
lr: 0.002
optimizer: adamw
val_frac: 0.2
seed: 3
YAML
$tq train -c "$work/own.yaml" -o "$work/own_nr24.onnx" --threads 1 -q 2>/dev/null
csv=../shared/data/nflx_sv_features.csv
if [[ -f $csv ]]; then
  awk -F, 'NR == 1 || $7 <= 93.6' "$csv" >"$work/lower.csv"
  $tq data features --csv "$work/lower.csv" --out "$work/vmaf_lower.npz" 2>/dev/null
  $tq data features --csv "$csv" --out "$work/vmaf_all.npz" 2>/dev/null
fi

row() {  # label model calib eval target
  local label=$1 model=$2 calib=$3 eval=$4 target=$5 line="| $1 |"
  [[ -f $model && -f $calib ]] || { echo "| $label | SKIP: $model or $calib not found |"; return; }
  for bc in off on; do
    local out="$work/$(basename "$model" .onnx).$(basename "$calib" .npz).$bc.int8.onnx"
    $tq ptq "$model" -o "$out" --calibration "$calib" --bias-correction "$bc" 2>/dev/null
    line+=$($tq compare "$model" "$out" --data "$eval" ${target:+--target "$target"} --json | node -e '
const o = JSON.parse(require("fs").readFileSync(0, "utf8")).outputs[0];
const t = o.int8_target_psnr !== undefined ? `, ${o.int8_target_psnr.toFixed(2)} dB` : "";
process.stdout.write(` ${o.plcc_drop.toExponential(2)} (max ${o.max_abs.toPrecision(3)}${t}) |`);')
  done
  echo "$line"
}
echo "| model, calibration → evaluation | off: PLCC drop (max \\|int8 − fp32\\|) | on (the default) |"
echo "|---|---|---|"
row "nr_metric_v1, 32 → 128 held-out" "$dir/nr_metric_v1.onnx" "$work/nr_cal32.npz" "$work/nr_eval.npz" ""
row "nr_metric_v1, 128 → 128 held-out" "$dir/nr_metric_v1.onnx" "$work/nr_cal128.npz" "$work/nr_eval.npz" ""
row "learned_filter_v1, 8 → 16 held-out" "$dir/learned_filter_v1.onnx" "$work/lf_cal.npz" "$work/lf_eval.npz" clean
row "vmaf_tiny_v4, lower 73 % → all 211" "$dir/vmaf_tiny_v4.onnx" "$work/vmaf_lower.npz" "$work/vmaf_all.npz" ""
row "vmaf_tiny_v4, all 211 → all 211" "$dir/vmaf_tiny_v4.onnx" "$work/vmaf_all.npz" "$work/vmaf_all.npz" ""
row "own nr_metric width 24, 32 → 128 held-out" "$work/own_nr24.onnx" "$work/nr_cal32.npz" "$work/nr_eval.npz" ""
