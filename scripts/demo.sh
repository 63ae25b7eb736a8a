#!/usr/bin/env bash
# The main job: real-photo corpus → QAT of learned_filter (20 fp32 + 10 QAT epochs) → static and dynamic
# PTQ of the same fp32 model → every int8 model measured against fp32 on held-out photos → a table
# (PLCC drop, PSNR vs clean, file size, latency at 224×224) and a report file. About 3 minutes on 2 cores
# after the build. DEMO_DIR (default demo-out) holds the models and the report; QUICK=1 runs 2 + 1
# epochs (wiring check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
out="${DEMO_DIR:-demo-out}"
TQ=build/tinyqat
mkdir -p "$out"
epochs=()
[ "${QUICK:-0}" = 1 ] && epochs=(--epochs-fp32 2 --epochs-qat 1)
start=$(date +%s)

echo "== 1. corpus: real photos (Debian python3-skimage) → build/corpus/*.npz"
bash scripts/corpus.sh 2>&1 | grep -E "^wrote|SKIP" | sed 's/ in [0-9.]* s$//'

echo
echo "== 2. QAT: learned_filter(16, 4), configs/learned_filter_v1_qat.yaml"
"$TQ" qat -c configs/learned_filter_v1_qat.yaml -o "$out/learned_filter.int8.onnx" \
  --checkpoint "$out/learned_filter.ckpt.onnx" --report "$out/qat_log.json" "${epochs[@]}"
fp32="$out/learned_filter.ckpt.onnx"  # the fp32 phase's model: what both PTQ rungs start from

echo
echo "== 3. static and dynamic PTQ of the same fp32 model"
"$TQ" data filter-pairs --count 64 --size 64 --input-only --out "$out/calib_in.npz" 2>/dev/null
"$TQ" ptq "$fp32" --mode static --method mse --calibration "$out/calib_in.npz" -o "$out/static.int8.onnx" 2>&1 | tail -1
"$TQ" ptq "$fp32" --mode dynamic -o "$out/dynamic.int8.onnx" 2>&1 | tail -1

echo
echo "== 4. measured on 128 crops of held-out photos (against fp32 and against the clean images)"
"$TQ" data filter-pairs --split eval --count 128 --size 64 --out "$out/eval.npz" 2>/dev/null
"$TQ" zoo learned_filter -o "$out/zoo.onnx" --example-input "$out/frame224.npy" --example-size 224 2>/dev/null
for m in learned_filter.int8 static.int8 dynamic.int8; do
  "$TQ" compare "$fp32" "$out/$m.onnx" --data "$out/eval.npz" --target clean --json >"$out/$m.compare.json"
  "$TQ" bench "$out/$m.onnx" --shape degraded=1x1x224x224 --iterations 30 --warmup 3 --json >"$out/$m.bench.json"
done
"$TQ" bench "$fp32" --shape degraded=1x1x224x224 --iterations 30 --warmup 3 --json >"$out/fp32.bench.json"
node tools/ort/ort_run.js "$out/learned_filter.int8.onnx" --input "degraded=$out/frame224.npy" --out "$out/ort" >/dev/null
"$TQ" run "$out/learned_filter.int8.onnx" --input "degraded=$out/frame224.npy" --out "$out/ours" >/dev/null 2>&1

echo
node tools/report/demo_table.js "$out" "$fp32" $(( $(date +%s) - start )) | tee "$out/report.md"
echo "report: $out/report.md"
