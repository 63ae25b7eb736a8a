#!/usr/bin/env bash
# fp32 runtime vs ONNX Runtime 1.30, 1 thread, identical inputs (both sides fill --shape inputs with the
# same LCG). Rounds alternate tinyqat and ORT so that machine noise hits both; each round reports the
# median of ITER runs and the table shows the median over ROUNDS rounds.
# Also the zoo's fr_regressor (the fork's C1 architecture: GELU in its erf form), built here.
#   bench/fp32_vs_ort.sh [MODELS_DIR]   (default ../shared/fork-models)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
rounds="${ROUNDS:-5}"
[[ -x build/tinyqat ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d tools/ort/node_modules ]] || { echo "SKIP: tools/ort not installed (scripts/setup.sh)" >&2; exit 0; }
work="${WORK:-build/bench-fp32}"
mkdir -p "$work"
"${TQ:-build/tinyqat}" zoo fr_regressor -o "$work/fr_regressor.onnx" >/dev/null
cases=()
if [[ -d "$dir" ]]; then
  cases+=(
    "$dir/learned_filter_v1.onnx degraded=1x1x224x224 30"
    "$dir/nr_metric_v1.onnx frame=1x1x224x224 200"
    "$dir/vmaf_tiny_v4.onnx features=1x6 2000"
    "$dir/vmaf_tiny_v4.onnx features=4096x6 200"
  )
else
  echo "SKIP: $dir not found (the fork's models); the zoo model only" >&2
fi
cases+=("$work/fr_regressor.onnx features=1x7 2000" "$work/fr_regressor.onnx features=4096x7 200")
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "| model | input | tinyqat fp32 ms | ORT 1.30 fp32 ms | ratio (ours/ORT) |"
echo "|---|---|---|---|---|"
for c in "${cases[@]}"; do
  read -r model shape iters <<<"$c"
  ours=() ort=()
  for ((r = 0; r < rounds; r++)); do
    ours+=("$("${TQ:-build/tinyqat}" bench "$model" --shape "$shape" --iterations "$iters" --warmup 5 --json |
      sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/')")
    ort+=("$(node tools/ort/ort_bench.js "$model" --shape "$shape" --iterations "$iters" --warmup 5 --json |
      sed -E 's/.*"median_ms": ?([0-9.]+).*/\1/')")
  done
  o=$(printf '%s\n' "${ours[@]}" | median)
  t=$(printf '%s\n' "${ort[@]}" | median)
  printf '| %s | %s | %.4f | %.4f | %.2f |\n' "$(basename "$model")" "${shape#*=}" "$o" "$t" "$(echo "$o / $t" | bc -l)"
done
