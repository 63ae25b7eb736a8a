#!/usr/bin/env bash
# End-to-end learned_filter_v1 (1x1x224x224, 1 thread): tinyqat vs ONNX Runtime 1.30 on the fp32 model,
# the fork's dynamic-quantized int8 model (DynamicQuantizeLinear + ConvInteger) and the QLinearConv
# version written by make_qop_model. Rounds alternate the runtimes so that machine noise hits both; each
# cell is the median over ROUNDS rounds of each round's median of ITER runs.
#   bench/int8_kernels/e2e.sh          (after `make -C bench/int8_kernels learned_filter_v1.qop.onnx`)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${ROUNDS:-5}" iters="${ITER:-20}"
fork=../shared/fork-models
models=("$fork/learned_filter_v1.onnx" "$fork/learned_filter_v1.int8.onnx" bench/int8_kernels/learned_filter_v1.qop.onnx)
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A ours ort
for ((r = 0; r < rounds; r++)); do
  for m in "${models[@]}"; do
    ours[$m]+="$(build/tinyqat bench "$m" --shape degraded=1x1x224x224 --iterations "$iters" --warmup 3 --json |
      sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/') "
    ort[$m]+="$(node tools/ort/ort_bench.js "$m" --shape degraded=1x1x224x224 --iterations "$iters" --warmup 3 --json |
      sed -E 's/.*"median_ms": ?([0-9.]+).*/\1/') "
  done
done
echo "| model | tinyqat ms | ORT 1.30 ms | ratio (ours/ORT) |"
echo "|---|---|---|---|"
for m in "${models[@]}"; do
  o=$(printf '%s\n' ${ours[$m]} | median)
  t=$(printf '%s\n' ${ort[$m]} | median)
  printf '| %s | %.2f | %.2f | %.2f |\n' "$(basename "$m")" "$o" "$t" "$(echo "$o / $t" | bc -l)"
done
