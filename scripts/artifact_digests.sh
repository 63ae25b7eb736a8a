#!/usr/bin/env bash
# Writes the sha256 of every quantized artifact the shipped paths produce: static PTQ (each calibration
# method, both activation presets) and dynamic PTQ of the zoo models and (when ../shared is here) the
# fork's fp32 models, and `qat --smoke` of every shipped config. A refactoring that must not change
# behaviour compares two runs of this script (before / after) line by line.
#   bash scripts/artifact_digests.sh [OUT_DIR]      (default build/artifact-digests; digests in OUT_DIR/sha256.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
TQ=${TQ:-./build/tinyqat}
out="${1:-build/artifact-digests}"
rm -rf "$out"
mkdir -p "$out"
[ -x "$TQ" ] || bash scripts/build.sh
TQ="$TQ" bash scripts/corpus.sh >/dev/null 2>&1
q() { "$@" >/dev/null 2>&1 || { echo "artifact_digests: FAILED: $*" >&2; exit 1; }; }

# Calibration sets (inputs only) named after each model's input.
q "$TQ" data filter-pairs --count 8 --size 224 --input-only --out "$out/calib_filter.npz"
q "$TQ" data nr-frames --count 8 --out "$out/calib_nr.npz"

models=()
q "$TQ" zoo learned_filter -o "$out/zoo_learned_filter.onnx"
q "$TQ" zoo nr_metric -o "$out/zoo_nr_metric.onnx"
q "$TQ" zoo mlp -o "$out/zoo_mlp.onnx"
models+=("$out/zoo_learned_filter.onnx:$out/calib_filter.npz" "$out/zoo_nr_metric.onnx:$out/calib_nr.npz")
if [ -d ../shared/fork-models ]; then
  models+=("../shared/fork-models/learned_filter_v1.onnx:$out/calib_filter.npz"
           "../shared/fork-models/nr_metric_v1.onnx:$out/calib_nr.npz")
  [ -f build/corpus/features.npz ] && models+=("../shared/fork-models/vmaf_tiny_v4.onnx:build/corpus/features.npz"
                                              "$out/zoo_mlp.onnx:build/corpus/features.npz")
fi
for mc in "${models[@]}"; do
  m="${mc%%:*}" c="${mc#*:}"
  base="$(basename "$m" .onnx)"
  q "$TQ" ptq "$m" --mode dynamic -o "$out/$base.dynamic.int8.onnx"
  for method in minmax percentile entropy mse; do
    for act in asymmetric symmetric; do
      q "$TQ" ptq "$m" --mode static --method "$method" --activations "$act" --samples 8 --calibration "$c" \
        -o "$out/$base.static-$method-$act.int8.onnx"
    done
  done
done
for cfg in configs/*.yaml; do
  name="$(basename "$cfg" .yaml)"
  if grep -q '^init: \.\./shared' "$cfg" && [ ! -d ../shared/fork-models ]; then continue; fi
  if grep -q 'features.npz' "$cfg" && [ ! -f build/corpus/features.npz ]; then continue; fi
  q "$TQ" qat -q --smoke -c "$cfg" -o "$out/qat-$name.int8.onnx" --checkpoint "$out/qat-$name.ckpt.onnx"
done
(cd "$out" && sha256sum -- *.onnx | sort -k2) >"$out/sha256.txt"
echo "artifact_digests: $(wc -l <"$out/sha256.txt") artifacts → $out/sha256.txt"
