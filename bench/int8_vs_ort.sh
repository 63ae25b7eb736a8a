#!/usr/bin/env bash
# int8 speed, 1 thread, side by side in one run: tinyqat int8, tinyqat fp32, ORT fp32, ORT int8 (the
# same int8 file). Rounds alternate the four so that machine noise hits all of them.
#   bench/int8_vs_ort.sh [MODELS_DIR]   (int8 files are made by bench/ptq_accuracy.sh's static rows)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
work="${WORK:-build/bench-ptq}"
rounds="${ROUNDS:-3}"
[[ -d "$dir" ]] || { echo "SKIP: $dir not found (the fork's models)" >&2; exit 0; }
mode="${MODE:-static-asymmetric-mse}"
cases=(
  "learned_filter_v1 degraded=1x1x224x224 20"
  "nr_metric_v1 frame=1x1x224x224 200"
  "vmaf_tiny_v4 features=1x6 2000"
  "vmaf_tiny_v4 features=4096x6 100"
)
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ours() { "${TQ:-build/tinyqat}" bench "$1" --shape "$2" --iterations "$3" --warmup 3 --json | sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/'; }
ort() { node tools/ort/ort_bench.js "$1" --shape "$2" --iterations "$3" --warmup 3 --json | sed -E 's/.*"median_ms": ?([0-9.]+).*/\1/'; }
echo "| model | input | tinyqat int8 ms | tinyqat fp32 ms | ORT fp32 ms | ORT int8 ms | ours int8 / ORT fp32 |"
echo "|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  read -r model shape iters <<<"$c"
  f32="$dir/$model.onnx" i8="$work/$model.$mode.onnx"
  [[ -f $i8 ]] || { echo "missing $i8: run bench/ptq_accuracy.sh first" >&2; exit 2; }
  a=() b=() c1=() d=()
  for ((r = 0; r < rounds; r++)); do
    a+=("$(ours "$i8" "$shape" "$iters")"); b+=("$(ours "$f32" "$shape" "$iters")")
    c1+=("$(ort "$f32" "$shape" "$iters")"); d+=("$(ort "$i8" "$shape" "$iters")")
  done
  A=$(printf '%s\n' "${a[@]}" | median) B=$(printf '%s\n' "${b[@]}" | median)
  C=$(printf '%s\n' "${c1[@]}" | median) D=$(printf '%s\n' "${d[@]}" | median)
  printf '| %s | %s | %.4f | %.4f | %.4f | %.4f | %.2f |\n' "$model" "${shape#*=}" "$A" "$B" "$C" "$D" "$(echo "$A / $C" | bc -l)"
done
