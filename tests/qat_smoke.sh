#!/usr/bin/env bash
# Every shipped config (configs/*.yaml) still parses and wires up end to end: `tinyqat qat --smoke` on the
# corpus scripts/corpus.sh builds (skipped, with a SKIP line, when the photos or ../shared are missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$1"
cd "$root"
if [ ! -d .cache/photos ] || [ -z "$(ls .cache/photos 2>/dev/null)" ]; then
  echo "SKIP qat smoke: no photos in .cache/photos (scripts/fetch_photos.sh)"
  exit 0
fi
out="$(dirname "$bin")/test-tmp/qat-smoke"
mkdir -p "$out"
TQ="$bin" CORPUS_DIR=build/corpus bash scripts/corpus.sh >/dev/null
for cfg in configs/*.yaml; do
  name="$(basename "$cfg" .yaml)"
  if grep -q '^init: \.\./shared' "$cfg" && [ ! -d ../shared/fork-models ]; then
    echo "SKIP $name: ../shared/fork-models not found"
    continue
  fi
  if grep -q 'features.npz' "$cfg" && [ ! -f build/corpus/features.npz ]; then
    echo "SKIP $name: build/corpus/features.npz needs ../shared/data"
    continue
  fi
  "$bin" qat -q --smoke -c "$cfg" -o "$out/$name.int8.onnx" --checkpoint "$out/$name.ckpt.onnx"
  "$bin" inspect "$out/$name.int8.onnx" | grep -q "quantization: qdq" || { echo "FAIL $name: not a QDQ model"; exit 1; }
  echo "ok $name"
done
