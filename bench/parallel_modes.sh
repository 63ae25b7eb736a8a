#!/usr/bin/env bash
# Pool or caller at 2 threads (docs/threading.md): for each model, one `tinyqat bench` process per mode
# (--parallel auto|pool|caller), one at 1 thread and ONNX Runtime at 2 threads, alternated for ROUNDS
# rounds; prints medians of round medians (ms) and the mode each auto process ended on.
#   bench/parallel_modes.sh MODEL NAME=DxDx... ITERATIONS [MODEL NAME=... ITERATIONS ...]
#   (ROUNDS=5; TQ=build/tinyqat)
set -euo pipefail
cd "$(dirname "$0")/.."
tq="${TQ:-build/tinyqat}" rounds="${ROUNDS:-5}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d tools/ort/node_modules/onnxruntime-node ]] || { echo "run bash scripts/setup.sh first (onnxruntime-node)" >&2; exit 2; }
(($# >= 3 && $# % 3 == 0)) || { echo "usage: bench/parallel_modes.sh MODEL NAME=SHAPE ITERATIONS [...]" >&2; exit 2; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
field() { sed -E "s/.*\"$1\": ?\"?([0-9a-zA-Z.eE+-]+)\"?.*/\1/"; }
echo "| model | input | ours 1t | pool 2t | caller 2t | auto 2t | ORT 2t | auto / ORT 2t | auto chose |"
echo "|---|---|---|---|---|---|---|---|---|"
while (($#)); do
  m=$1 s=$2 it=$3
  shift 3
  declare -A v=() && chose=""
  for ((r = 0; r < rounds; r++)); do
    for p in auto pool caller; do
      out=$("$tq" bench "$m" --shape "$s" --iterations "$it" --threads 2 --parallel $p --warmup 20 --json)
      v[$p]+="$(field median_ms <<<"$out") "
      [[ $p == auto ]] && chose+="$(field run_mode <<<"$out") "
    done
    v[one]+="$("$tq" bench "$m" --shape "$s" --iterations "$it" --threads 1 --warmup 20 --json | field median_ms) "
    v[ort]+="$(node tools/ort/ort_bench.js "$m" --shape "$s" --iterations "$it" --threads 2 --warmup 20 --json | field median_ms) "
  done
  M() { printf '%s\n' ${v[$1]} | med; }
  printf '| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %s |\n' "$(basename "$m" .onnx)" "${s#*=}" \
    "$(M one)" "$(M pool)" "$(M caller)" "$(M auto)" "$(M ort)" "$(echo "$(M auto)/$(M ort)" | bc -l)" "$chose"
done
