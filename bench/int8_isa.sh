#!/usr/bin/env bash
# int8 only where it is faster: per kernel path (TINYQAT_ISA), the measured time of each int8 file over its
# fp32 twin's (tinyqat bench, 1 thread, median of round medians) next to the session's prediction
# (runtime/int8_speed.h, read with `tinyqat inspect --json`) and the decision it makes. Files: the fork's
# three models with our static int8 and the fork's own int8 files, and zoo models not from the fork.
#   bench/int8_isa.sh [MODELS_DIR]      (decision 0006)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-../shared/fork-models}"
work="${WORK:-build/bench-int8-isa}"
tq="${TQ:-build/tinyqat}"
rounds="${ROUNDS:-3}"
paths="${PATHS:-native avx512 avx2 generic}"
[[ -x $tq ]] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
mkdir -p "$work"
[[ -d .cache/photos ]] || bash scripts/fetch_photos.sh >/dev/null
# name fp32 int8 shape iterations
cases=()
$tq data nr-frames --size 224 --count 32 --split train --input-only --out "$work/nr_calib.npz" 2>/dev/null
$tq data filter-pairs --size 224 --count 16 --split train --input-name degraded --input-only \
  --out "$work/lf_calib.npz" 2>/dev/null
$tq data nr-frames --size 96 --count 32 --split train --input-only --out "$work/zoo_nr_calib.npz" 2>/dev/null
if [[ -d $dir ]]; then
  $tq data features --csv ../shared/data/nflx_sv_features.csv --out "$work/features.npz" 2>/dev/null
  for spec in learned_filter_v1:lf_calib:degraded=1x1x224x224:20 nr_metric_v1:nr_calib:frame=1x1x224x224:200 \
              vmaf_tiny_v4:features:features=4096x6:100; do
    IFS=: read -r m calib shape iters <<<"$spec"
    $tq ptq "$dir/$m.onnx" -o "$work/$m.static.onnx" --calibration "$work/$calib.npz" >/dev/null 2>&1
    cases+=("$m-static $dir/$m.onnx $work/$m.static.onnx $shape $iters")
    [[ -f $dir/$m.int8.onnx ]] && cases+=("$m-fork-int8 $dir/$m.onnx $dir/$m.int8.onnx $shape $iters")
  done
fi
# Not the fork's: a wider depthwise metric on another input size, and a filter of another width.
$tq zoo nr_metric -o "$work/zoo_nr.onnx" --width 24 >/dev/null
$tq ptq "$work/zoo_nr.onnx" -o "$work/zoo_nr.static.onnx" --calibration "$work/zoo_nr_calib.npz" >/dev/null 2>&1
cases+=("zoo-nr-w24-static $work/zoo_nr.onnx $work/zoo_nr.static.onnx frame=1x1x96x96 200")
$tq zoo learned_filter -o "$work/zoo_lf.onnx" --width 12 --num-blocks 3 >/dev/null
$tq ptq "$work/zoo_lf.onnx" -o "$work/zoo_lf.static.onnx" --calibration "$work/lf_calib.npz" >/dev/null 2>&1
$tq ptq "$work/zoo_lf.onnx" -o "$work/zoo_lf.dynamic.onnx" --mode dynamic >/dev/null 2>&1
cases+=("zoo-lf-w12-static $work/zoo_lf.onnx $work/zoo_lf.static.onnx degraded=1x1x224x224 20")
cases+=("zoo-lf-w12-dynamic $work/zoo_lf.onnx $work/zoo_lf.dynamic.onnx degraded=1x1x224x224 20")

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
isa_env() { [[ $1 == native ]] && echo "TINYQAT_ISA=" || echo "TINYQAT_ISA=$1"; }
timed() { env "$(isa_env "$1")" "$tq" bench "$2" --shape "$3" --iterations "$4" --warmup 3 --json |
  sed -E 's/.*"median_ms": ?([0-9.eE+-]+).*/\1/'; }
predicted() { env "$(isa_env "$1")" "$tq" inspect --json "$2" | sed -nE 's/.*"predicted_run_ms": ?([0-9.eE+-]+).*/\1/p'; }
path_name() { env "$(isa_env "$1")" "$tq" inspect --json "$2" | sed -nE 's/.*"kernel_path": ?"([^"]+)".*/\1/p'; }
echo "| kernels | model | measured int8/fp32 | predicted | session runs | right |"
echo "|---|---|---|---|---|---|"
for p in $paths; do
  for c in "${cases[@]}"; do
    read -r name f32 i8 shape iters <<<"$c"
    [[ $p == generic ]] && iters=$(((iters + 3) / 4))
    a=() b=()
    for ((r = 0; r < rounds; r++)); do
      a+=("$(timed "$p" "$i8" "$shape" "$iters")") b+=("$(timed "$p" "$f32" "$shape" "$iters")")
    done
    A=$(printf '%s\n' "${a[@]}" | median) B=$(printf '%s\n' "${b[@]}" | median)
    PA=$(predicted "$p" "$i8") PB=$(predicted "$p" "$f32")
    node -e '
const [k, name, A, B, PA, PB] = process.argv.slice(1);
const m = A / B, pr = PA / PB, runs = pr > 1.1 ? "fp32" : "int8";
// Right when the file the session runs is not more than 10 % slower than the other one, as measured.
const right = runs === "int8" ? m <= 1.1 : m >= 1 / 1.1;
console.log(`| ${k} | ${name} | ${m.toFixed(2)} | ${pr.toFixed(2)} | ${runs} | ${right ? "yes" : "**no**"} |`);
' "$(path_name "$p" "$i8")" "$name" "$A" "$B" "$PA" "$PB"
  done
done
