#!/usr/bin/env bash
# A model none of the fork's resembles: the zoo's U-Net (3-channel input, Conv + ReLU, MaxPool,
# ConvTranspose upsampling, Concat skips, Sigmoid), fp32 and static int8 (calibrated on the zoo's synthetic
# frame), side by side with ONNX Runtime's fp32 in one run, at 1 and 2 threads, a small and a large input.
# Rounds alternate the runtimes so that machine noise hits all of them; medians of round medians.
#   bench/unet.sh            (ROUNDS=5 THREADS="1 2" SIZES="96x128 384x512" WIDTH=16)
set -euo pipefail
cd "$(dirname "$0")/.."
tq="${TQ:-build/tinyqat}" work="${WORK:-build/bench-unet}"
rounds="${ROUNDS:-5}" threads="${THREADS:-1 2}" sizes="${SIZES:-96x128 384x512}" width="${WIDTH:-16}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d tools/ort/node_modules ]] || { echo "SKIP: tools/ort not installed (scripts/setup.sh)" >&2; exit 0; }
mkdir -p "$work"
f32="$work/unet.onnx" i8="$work/unet.int8.onnx"
$tq zoo unet -o "$f32" --width "$width" --example-input "$work/frame.npy" --example-size 96 2>/dev/null
$tq ptq "$f32" -o "$i8" --calibration "$work/frame.npy" >/dev/null 2>&1
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ours() { $tq bench "$1" --shape "image=$2" --threads "$3" --iterations "$4" --warmup 3 --json |
  sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/'; }
ort() { node tools/ort/ort_bench.js "$1" --shape "image=$2" --threads "$3" --iterations "$4" --warmup 3 --json |
  sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/'; }
echo "| input | threads | tinyqat fp32 ms | tinyqat int8 ms | ORT fp32 ms | fp32 / ORT | int8 / ORT fp32 |"
echo "|---|---|---|---|---|---|---|"
for s in $sizes; do
  h=${s%x*} w=${s#*x}
  iters=$((200 * 96 * 128 / (h * w) + 5))
  for t in $threads; do
    a=() b=() c=()
    for ((r = 0; r < rounds; r++)); do
      a+=("$(ours "$f32" "1x3x${h}x${w}" "$t" "$iters")") b+=("$(ours "$i8" "1x3x${h}x${w}" "$t" "$iters")")
      c+=("$(ort "$f32" "1x3x${h}x${w}" "$t" "$iters")")
    done
    A=$(printf '%s\n' "${a[@]}" | median) B=$(printf '%s\n' "${b[@]}" | median) C=$(printf '%s\n' "${c[@]}" | median)
    printf '| %s | %s | %.3f | %.3f | %.3f | %.2f | %.2f |\n' "$s" "$t" "$A" "$B" "$C" \
      "$(echo "$A / $C" | bc -l)" "$(echo "$B / $C" | bc -l)"
  done
done
