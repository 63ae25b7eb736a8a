#!/usr/bin/env bash
# Parquet read speed against file size: feature caches as the fork writes them (key + 6 features + mos),
# 10^4 … 4·10^6 rows, written by DuckDB (SNAPPY and ZSTD, v1 pages) and arrow-rs (ZSTD, v2 pages), read by
# tinyqat (every column decoded) and, for reference, by DuckDB (a sum over every column, 1 thread).
#   bash bench/parquet_read.sh [OUT_DIR]      (default build/bench-parquet; needs scripts/setup.sh's npm tools)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/bench-parquet}"
mkdir -p "$out"
[ -x build/bench/bench_parquet_read ] || bash scripts/build.sh >/dev/null
files=()
for rows in 10000 100000 1000000 4000000; do
  for codec in snappy zstd; do
    f="$out/features_${rows}_${codec}.parquet"
    [ -f "$f" ] || printf "copy (select 'clip' || (range // 30) as key, 0.7 + (hash(range) %% 3000) / 10000.0 as adm2,
      (hash(range + 1) %% 1000) / 1000.0 as vif_scale0, (hash(range + 2) %% 1000) / 1000.0 as vif_scale1,
      (hash(range + 3) %% 1000) / 1000.0 as vif_scale2, (hash(range + 4) %% 1000) / 1000.0 as vif_scale3,
      (hash(range + 5) %% 20000) / 1000.0 as motion2, (hash(range + 6) %% 10000) / 100.0 as mos from range(%d))
      to '%s' (format parquet, compression %s)\n" "$rows" "$f" "$codec" >"$out/make.sql"
    [ -f "$f" ] || node tools/parquet/duckdb_sql.js "$out/make.sql" >/dev/null
    files+=("$f")
  done
  f="$out/features_${rows}_zstd_v2_arrow.parquet"
  if [ ! -f "$f" ]; then
    echo "[{\"out\": \"$(pwd)/$f\", \"version\": \"v2\", \"compression\": \"ZSTD\"}]" >"$out/jobs.json"
    (cd tools/parquet && node arrow_rewrite.js "../../$out/features_${rows}_zstd.parquet" "../../$out/jobs.json")
  fi
  files+=("$f")
done
echo "tinyqat (build/bench/bench_parquet_read, best of 3):"
build/bench/bench_parquet_read "${files[@]}"
echo
echo "DuckDB reading the same files (sum over every column, 1 thread, best of 3):"
for f in "${files[@]}"; do
  printf "set threads = 1\n;\nselect sum(length(key)), sum(adm2), sum(vif_scale0), sum(vif_scale1), sum(vif_scale2), sum(vif_scale3), sum(motion2), sum(mos) from read_parquet('%s')\n" "$f" >"$out/read.sql"
  best=""
  for _ in 1 2 3; do
    t0=$(date +%s.%N)
    node tools/parquet/duckdb_sql.js "$out/read.sql" >/dev/null
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ] && best=$t
  done
  printf "%-44s %8.0f ms (node + DuckDB start included)\n" "$f" "$(echo "$best * 1000" | bc)"
done
