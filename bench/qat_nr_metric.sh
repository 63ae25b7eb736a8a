#!/usr/bin/env bash
# nr_metric QAT ablation: the fork's nr_metric_v1 quantized by static PTQ, dynamic PTQ and QAT with
# distillation under several recipes, each measured against the fp32 file on HELD-OUT photos
# (build/corpus/nr_eval.npz: other photos than the training frames). Writes build/bench-qat-nr/table.md.
# ONLY="shipped seed_1" runs just those QAT variants (the PTQ rows always run).
#   bash bench/qat_nr_metric.sh            (needs ../shared/fork-models and the corpus: scripts/corpus.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
TQ=${TQ:-./build/tinyqat}
FP32=../shared/fork-models/nr_metric_v1.onnx
OUT=build/bench-qat-nr
[ -f "$FP32" ] || { echo "SKIP: $FP32 not found (../shared is not here)"; exit 0; }
[ -f build/corpus/nr_train.npz ] || bash scripts/corpus.sh
mkdir -p "$OUT"
"$TQ" data nr-frames --split eval --count 200 --seed 1 --input-only --out "$OUT/eval_in.npz" 2>/dev/null
"$TQ" data nr-frames --count 400 --input-only --out "$OUT/calib_in.npz" 2>/dev/null
drop() { "$TQ" compare "$FP32" "$1" --data "$OUT/eval_in.npz" --json | sed -n 's/.*"plcc_drop": *\([-0-9.e]*\).*/\1/p' | head -1 | awk '{printf "%.2e", $1}'; }
rows=()
row() { rows+=("| $1 | $(drop "$2") |"); echo "nr_metric: $1 → $(drop "$2")"; }
"$TQ" ptq "$FP32" --mode dynamic -o "$OUT/dynamic.int8.onnx" 2>/dev/null
row "dynamic PTQ" "$OUT/dynamic.int8.onnx"
for m in minmax mse; do
  "$TQ" ptq "$FP32" --mode static --method $m --calibration "$OUT/calib_in.npz" -o "$OUT/static_$m.int8.onnx" 2>/dev/null
  row "static PTQ, asymmetric, $m" "$OUT/static_$m.int8.onnx"
done
"$TQ" ptq "$FP32" --mode static --activations symmetric --method minmax --calibration "$OUT/calib_in.npz" \
  -o "$OUT/static_sym.int8.onnx" 2>/dev/null
row "static PTQ, symmetric, minmax" "$OUT/static_sym.int8.onnx"
# QAT variants: name | overrides written into a copy of the shipped config.
variant() {
  local name="$1"; shift
  if [ -n "${ONLY:-}" ] && ! grep -qw "$name" <<<"$ONLY"; then return; fi
  local cfg="$OUT/$name.yaml"
  cp configs/nr_metric_v1_qat.yaml "$cfg"
  local args=()
  for kv in "$@"; do
    if [ "${kv#--}" != "$kv" ]; then args+=("${kv%%=*}" "${kv#*=}"); continue; fi  # --flag=value: an override
    local k="${kv%%=*}" v="${kv#*=}"
    if grep -q "^  $k:" "$cfg"; then sed -i "s|^  $k:.*|  $k: $v|" "$cfg"; else sed -i "s|^qat:|qat:\n  $k: $v|" "$cfg"; fi
  done
  "$TQ" qat -q -c "$cfg" -o "$OUT/$name.int8.onnx" --report "$OUT/$name.json" "${args[@]}"
  row "QAT: $name ($*)" "$OUT/$name.int8.onnx"
}
variant shipped
variant seed_1 --seed=1
variant seed_2 --seed=2
variant no_keep_best keep_best=false
variant ema_observers freeze_observers_epoch=-1
variant minmax_init init_ranges=minmax
variant lr_1e-4 lr_qat=0.0001
variant drift drift_penalty=10
variant lsq lsq=true
variant symmetric qconfig=symmetric
{
  echo "| nr_metric_v1, int8 recipe | PLCC drop vs fp32 (200 held-out frames) |"
  echo "|---|---|"
  printf '%s\n' "${rows[@]}"
} > "$OUT/table.md"
cat "$OUT/table.md"
