#!/usr/bin/env bash
# The fork's fr_tiny_v1 recipe on its own data contract, run the way a maintainer of the fork would:
#   1. the Netflix feature vectors (../shared/data/nflx_sv_features.csv) as the fork's feature cache,
#      ai/data/nflx_features.parquet (FEATURE_COLUMNS + mos + key, written by DuckDB) and, converted by
#      tinyqat, ai/data/nflx_features.npz (features, scores, key);
#   2. `tinyqat train -c ai/configs/fr_tiny_v1.yaml` — the fork's file unchanged — on the parquet, and
#      the same config with only cache:/output: pointing at the npz: the same split, the same model;
#   3. the recipe with enough steps to fit 211 rows (--epochs-fp32 1000), then QAT to int8.
# Held-out (test split) PLCC is printed for each; docs/fork.md quotes the numbers.
#   bash scripts/fork_demo.sh [WORK_DIR]   (default build/fork-demo; needs ../shared and scripts/setup.sh's npm tools)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$root/build/fork-demo}"
TQ="$root/build/tinyqat"
shared="$root/../shared"
[ -x "$TQ" ] || bash "$root/scripts/build.sh" >/dev/null
for f in "$shared/data/nflx_sv_features.csv" "$shared/fork-api/configs/fr_tiny_v1.yaml"; do
  [ -f "$f" ] || { echo "fork_demo: SKIP: $f not found"; exit 0; }
done
rm -rf "$work"
mkdir -p "$work/ai/data" "$work/ai/configs"
cd "$work"
cp "$shared/fork-api/configs/fr_tiny_v1.yaml" ai/configs/  # the fork's file, as the fork's checkout has it
sed 's|nflx_features.parquet|nflx_features.npz|; s|runs/fr_tiny_v1|runs/fr_tiny_v1_npz|' ai/configs/fr_tiny_v1.yaml \
  >ai/configs/fr_tiny_v1_npz.yaml

echo "== 1. the feature cache: .parquet (DuckDB) and .npz (tinyqat data convert)"
cat >make.sql <<SQL
copy (select printf('nflx_sv_%03d', row_number() over () - 1) as key, adm2, vif_scale0, vif_scale1, vif_scale2,
  vif_scale3, motion2, vmaf as mos from read_csv('$shared/data/nflx_sv_features.csv', header = true))
  to 'ai/data/nflx_features.parquet' (format parquet, compression snappy)
SQL
node "$root/tools/parquet/duckdb_sql.js" make.sql >/dev/null
"$TQ" data show ai/data/nflx_features.parquet
"$TQ" data convert ai/data/nflx_features.parquet --layout feature-cache -o ai/data/nflx_features.npz
"$TQ" data show ai/data/nflx_features.npz

echo
echo "== 2. tinyqat train -c ai/configs/fr_tiny_v1.yaml (parquet) and the npz copy: 100 epochs as configured"
"$TQ" train -q -c ai/configs/fr_tiny_v1.yaml
"$TQ" train -q -c ai/configs/fr_tiny_v1_npz.yaml
for r in runs/fr_tiny_v1 runs/fr_tiny_v1_npz; do
  node -e 'const r = require(process.argv[1]); console.log(`${process.argv[2]}: split by ${r.split}: ${r.train_samples} train / ${r.val_samples} val / ${r.test_samples} test; held-out PLCC ${r.test[0].plcc.toFixed(4)} RMSE ${r.test[0].rmse.toFixed(3)}`)' \
    "$work/$r/report.json" "$r"
done
# (tests/train/test_fork.cpp checks that the two models' weights are the same.)

echo
echo "== 3. enough steps for 211 rows: --epochs-fp32 1000, then QAT (100 epochs at the config's lr / 10)"
"$TQ" qat -q -c ai/configs/fr_tiny_v1.yaml --epochs-fp32 1000 --epochs-qat 100 -o runs/fr_tiny_v1/fr_tiny_v1_qat.int8.onnx
