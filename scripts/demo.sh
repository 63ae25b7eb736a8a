#!/usr/bin/env bash
# The main job on its embedded default: build, then write a learned_filter model from the model zoo,
# inspect it, run it with tinyqat's runtime and with ONNX Runtime, and show that they agree.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
out="${DEMO_DIR:-demo-out}"
mkdir -p "$out"
echo
echo "== 1. model zoo: learned_filter(channels=1, width=16, num_blocks=4) → $out/learned_filter.onnx"
build/tinyqat zoo learned_filter --width 16 --num-blocks 4 -o "$out/learned_filter.onnx" \
  --example-input "$out/frame.npy" --example-size 224
echo
echo "== 2. inspect"
build/tinyqat inspect "$out/learned_filter.onnx"
echo
echo "== 3. run (tinyqat runtime, 1 thread)"
build/tinyqat run "$out/learned_filter.onnx" --input degraded="$out/frame.npy" --out "$out/tinyqat"
echo
echo "== 4. run (ONNX Runtime 1.30, reference)"
node tools/ort/ort_run.js "$out/learned_filter.onnx" --input degraded="$out/frame.npy" --out "$out/ort"
echo
echo "== 5. agreement"

node -e '
const c = require("./tools/ort/common.js");
const a = c.readNpy(process.argv[1]), b = c.readNpy(process.argv[2]);
let m = 0; for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
console.log(`max |tinyqat − ORT| over ${a.data.length} values: ${m.toExponential(2)} (contract: ≤ 1e-4)`);
process.exit(m <= 1e-4 ? 0 : 1);
' "$out/tinyqat/filtered.npy" "$out/ort/filtered.npy"
