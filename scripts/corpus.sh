#!/usr/bin/env bash
# Builds the training and evaluation sets the shipped configs (configs/*.yaml) read, under build/corpus/,
# from real photos in Debian's python3-skimage (scripts/fetch_photos.sh) and the VMAF feature CSV.
# Idempotent: byte-identical files on every run (docs/data.md); existing files are rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
TQ=${TQ:-./build/tinyqat}
OUT=${CORPUS_DIR:-build/corpus}
[ -x "$TQ" ] || bash scripts/build.sh
bash scripts/fetch_photos.sh >/dev/null
mkdir -p "$OUT"
# learned_filter: degraded (blur σ=1.2 + JPEG Q35) → clean pairs; eval from held-out photos.
"$TQ" data filter-pairs --count 512 --size 64 --out "$OUT/filter_train.npz"
"$TQ" data filter-pairs --split eval --count 128 --size 64 --out "$OUT/filter_eval.npz"
# nr_metric: frames with a spread of blur / JPEG / noise; eval from held-out photos.
"$TQ" data nr-frames --count 400 --out "$OUT/nr_train.npz"
"$TQ" data nr-frames --split eval --count 200 --seed 1 --out "$OUT/nr_eval.npz"
# vmaf_tiny: the 211 Netflix feature vectors (only when ../shared is here).
if [ -f ../shared/data/nflx_sv_features.csv ]; then
  "$TQ" data features --csv ../shared/data/nflx_sv_features.csv --out "$OUT/features.npz"
else
  echo "corpus: SKIP features.npz (../shared/data/nflx_sv_features.csv not found)"
fi
