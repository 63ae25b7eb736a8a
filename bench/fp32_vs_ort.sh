#!/usr/bin/env bash
# fp32 runtime vs ONNX Runtime 1.30, 1 thread, identical inputs (both sides fill --shape inputs with the
# same LCG). Rounds alternate tinyqat and ORT so that machine noise hits both; each round reports the
# median of ITER runs and the table shows the median over ROUNDS rounds.
#   bench/fp32_vs_ort.sh [MODELS_DIR]   (default ../shared/fork-models)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
rounds="${ROUNDS:-5}"
[[ -x build/tinyqat ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d "$dir" ]] || { echo "SKIP: $dir not found (the fork's models)" >&2; exit 0; }
cases=(
  "learned_filter_v1.onnx degraded=1x1x224x224 30"
  "nr_metric_v1.onnx frame=1x1x224x224 200"
  "vmaf_tiny_v4.onnx features=1x6 2000"
  "vmaf_tiny_v4.onnx features=4096x6 200"
)
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "| model | input | tinyqat fp32 ms | ORT 1.30 fp32 ms | ratio (ours/ORT) |"
echo "|---|---|---|---|---|"
for c in "${cases[@]}"; do
  read -r model shape iters <<<"$c"
  ours=() ort=()
  for ((r = 0; r < rounds; r++)); do
    ours+=("$("${TQ:-build/tinyqat}" bench "$dir/$model" --shape "$shape" --iterations "$iters" --warmup 5 --json |
      sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/')")
    ort+=("$(node tools/ort/ort_bench.js "$dir/$model" --shape "$shape" --iterations "$iters" --warmup 5 --json |
      sed -E 's/.*"median_ms": ?([0-9.]+).*/\1/')")
  done
  o=$(printf '%s\n' "${ours[@]}" | median)
  t=$(printf '%s\n' "${ort[@]}" | median)
  printf '| %s | %s | %.4f | %.4f | %.2f |\n' "$model" "${shape#*=}" "$o" "$t" "$(echo "$o / $t" | bc -l)"
done
