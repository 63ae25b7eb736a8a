#!/usr/bin/env bash
# The quantization ladder with latency (docs/quantization.md, "The ladder"): `tinyqat quantize` on the
# fork's learned_filter_v1 (8 train crops of 224² to calibrate, 16 eval crops to measure) and nr_metric_v1
# (32 train frames / 64 eval frames, seed 7), without the QAT rung; one Markdown table per run in
# $WORK/*.md. Latency is the median of --latency-iterations runs on one thread in our runtime.
#   bench/quantize_ladder.sh          (needs ../shared/fork-models and the photos of scripts/fetch_photos.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${WORK:-build/bench-ladder}"
tq="${TQ:-build/tinyqat}"
photos="${PHOTOS:-.cache/photos}"
fork=../shared/fork-models
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d $fork && -d $photos ]] || { echo "SKIP: $fork or $photos not found" >&2; exit 0; }
mkdir -p "$work"
$tq data filter-pairs --photos "$photos" --count 8 --size 224 --input-only -o "$work/lf_cal.npz" >/dev/null 2>&1
$tq data filter-pairs --photos "$photos" --count 16 --size 224 --split eval --seed 7 -o "$work/lf_eval.npz" \
  >/dev/null 2>&1
$tq data nr-frames --photos "$photos" --count 32 --input-only -o "$work/nr_cal.npz" >/dev/null 2>&1
$tq data nr-frames --photos "$photos" --count 64 --split eval --seed 7 -o "$work/nr_eval.npz" >/dev/null 2>&1
run() {  # NAME MODEL CAL EVAL BUDGET OBJECTIVE
  echo "## $1: --budget $5 --objective $6"
  $tq quantize "$fork/$2" --budget "$5" --data "$work/$4" --calibration "$work/$3" --no-qat --objective "$6" \
    -o "$work/$1.int8.onnx" --markdown-out "$work/$1.md" >/dev/null 2>"$work/$1.log"
  cat "$work/$1.md"
  echo
}
run lf-latency learned_filter_v1.onnx lf_cal.npz lf_eval.npz 0.002 latency
run lf-effort learned_filter_v1.onnx lf_cal.npz lf_eval.npz 0.002 effort
run nr-5e-4 nr_metric_v1.onnx nr_cal.npz nr_eval.npz 0.0005 latency
run nr-3e-4 nr_metric_v1.onnx nr_cal.npz nr_eval.npz 0.0003 latency
