#!/usr/bin/env bash
# Thread scaling in one run: tinyqat at 1 and 2 threads against ONNX Runtime (fp32 file) at 1 and 2
# threads, on the same inputs. Rounds alternate the four so that machine noise hits all of them; each
# cell is the median over rounds of each round's median.
#   bench/threads.sh [MODELS_DIR]    (default ../shared/fork-models; without it: zoo builds)
# int8 files are made here by our static PTQ (default preset) from synthetic calibration inputs: their
# speed does not depend on the calibration data. Env: ROUNDS (3), THREADS ("1 2"), TQ, WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
tq="${TQ:-build/tinyqat}"
work="${WORK:-build/bench-threads}"
rounds="${ROUNDS:-3}"
read -r -a threads <<<"${THREADS:-1 2}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
[[ -d tools/ort/node_modules/onnxruntime-node ]] || { echo "run bash scripts/setup.sh first (onnxruntime-node)" >&2; exit 2; }
mkdir -p "$work"

# NAME=FILE.npy of float32 values in [0, 1) (a fixed LCG), shape DxDx...
npy() {
  node -e '
const fs = require("fs");
const [file, shapeText] = process.argv.slice(1);
const shape = shapeText.split("x").map(Number), n = shape.reduce((a, b) => a * b, 1);
let s = 12345 >>> 0;
const data = new Float32Array(n);
for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = s / 4294967296; }
let header = `{"descr": "<f4", "fortran_order": False, "shape": (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
const h = Buffer.alloc(10);
h.write("\x93NUMPY", 0, "latin1"); h[6] = 1; h[7] = 0; h.writeUInt16LE(header.length, 8);
fs.writeFileSync(file, Buffer.concat([h, Buffer.from(header, "latin1"), Buffer.from(data.buffer)]));
' "$1" "$2"
}

if [[ -f $dir/learned_filter_v1.onnx && -f $dir/nr_metric_v1.onnx && -f $dir/vmaf_tiny_v4.onnx ]]; then
  lf=$dir/learned_filter_v1.onnx nr=$dir/nr_metric_v1.onnx vt=$dir/vmaf_tiny_v4.onnx
  echo "models: $dir" >&2
else
  lf=$work/learned_filter.onnx nr=$work/nr_metric.onnx vt=$work/vmaf_tiny.onnx
  $tq zoo learned_filter -o "$lf" >/dev/null
  $tq zoo nr_metric -o "$nr" >/dev/null
  $tq zoo mlp -o "$vt" >/dev/null
  echo "models: zoo builds (../shared/fork-models not found)" >&2
fi
in_name() { "$tq" inspect "$1" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).inputs[0].name))'; }
int8_of() {  # fp32 model, calibration shape → int8 file
  local out="$work/$(basename "$1" .onnx).int8.onnx" name
  name=$(in_name "$1")
  npy "$work/calib_$(basename "$1" .onnx).npy" "$2"
  $tq ptq "$1" -o "$out" --mode static --calibration "$name=$work/calib_$(basename "$1" .onnx).npy" >/dev/null 2>&1
  echo "$out"
}
# The fork's learned_filter_v1 has a fixed 224² input: full HD runs the zoo's learned_filter (same layers).
lfz=$work/learned_filter_zoo.onnx
$tq zoo learned_filter -o "$lfz" >/dev/null
lf8=$(int8_of "$lf" 8x1x224x224)
lfz8=$(int8_of "$lfz" 2x1x224x224)
nr8=$(int8_of "$nr" 8x1x224x224)
lfn=$(in_name "$lf") nrn=$(in_name "$nr") vtn=$(in_name "$vt")

# label | ours file | ORT file (fp32) | shape | iterations
cases=(
  "nr_metric_v1 fp32|$nr|$nr|$nrn=1x1x224x224|200"
  "nr_metric_v1 int8|$nr8|$nr|$nrn=1x1x224x224|200"
  "vmaf_tiny_v4 fp32, batch 1|$vt|$vt|$vtn=1x6|2000"
  "vmaf_tiny_v4 fp32, batch 4096|$vt|$vt|$vtn=4096x6|200"
  "learned_filter_v1 fp32, 224²|$lf|$lf|$lfn=1x1x224x224|30"
  "learned_filter_v1 int8, 224²|$lf8|$lf|$lfn=1x1x224x224|30"
  "learned_filter (zoo) int8, 1920×1080|$lfz8|$lfz|$(in_name "$lfz")=1x1x1080x1920|4"
)
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ours() { "$tq" bench "$1" --shape "$2" --iterations "$3" --warmup 3 --threads "$4" --json | sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/'; }
ort() { node tools/ort/ort_bench.js "$1" --shape "$2" --iterations "$3" --warmup 3 --threads "$4" --json | sed -E 's/.*"median_ms": ?([0-9.]+).*/\1/'; }

t1=${threads[0]} tn=${threads[${#threads[@]}-1]}
hdr="| model | ours ${t1}t ms"
for t in "${threads[@]:1}"; do hdr+=" | ours ${t}t ms"; done
hdr+=" | ORT fp32 ${t1}t ms"
for t in "${threads[@]:1}"; do hdr+=" | ORT fp32 ${t}t ms"; done
hdr+=" | ours ${t1}t→${tn}t | ORT ${t1}t→${tn}t | ours/ORT at ${tn}t |"
echo "$hdr"
echo "|$(printf -- '---|%.0s' $(seq 1 $((2 * ${#threads[@]} + 4))))"
for c in "${cases[@]}"; do
  IFS='|' read -r label mine ref shape iters <<<"$c"
  declare -A o=() r=()
  for ((k = 0; k < rounds; k++)); do
    for t in "${threads[@]}"; do
      o[$t]+="$(ours "$mine" "$shape" "$iters" "$t") "
      r[$t]+="$(ort "$ref" "$shape" "$iters" "$t") "
    done
  done
  declare -A O=() R=()
  for t in "${threads[@]}"; do
    O[$t]=$(tr ' ' '\n' <<<"${o[$t]}" | sed '/^$/d' | median)
    R[$t]=$(tr ' ' '\n' <<<"${r[$t]}" | sed '/^$/d' | median)
  done
  row="| $label"
  for t in "${threads[@]}"; do row+=" | $(printf '%.4f' "${O[$t]}")"; done
  for t in "${threads[@]}"; do row+=" | $(printf '%.4f' "${R[$t]}")"; done
  row+=" | ×$(printf '%.2f' "$(echo "${O[$t1]} / ${O[$tn]}" | bc -l)")"
  row+=" | ×$(printf '%.2f' "$(echo "${R[$t1]} / ${R[$tn]}" | bc -l)")"
  row+=" | $(printf '%.2f' "$(echo "${O[$tn]} / ${R[$tn]}" | bc -l)") |"
  echo "$row"
  unset o r O R
done
