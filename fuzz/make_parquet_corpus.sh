#!/usr/bin/env bash
# Rebuilds fuzz/corpus/parquet/: small files from the two independent writers the reader tests use
# (DuckDB and arrow-rs via npm, tools/parquet; scripts/setup.sh installs them): every codec, v1 and v2
# data pages, dictionary / plain / DELTA_* / BYTE_STREAM_SPLIT / RLE encodings, nulls, strings, a
# DECIMAL, several row groups, and a feature cache as the fork writes it. The files are checked in;
# run this only to change them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/fuzz/corpus/parquet"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/make.sql" <<SQL
create table t as select range::DOUBLE / 7 as d, (range * 3)::INTEGER as i, range * 1000003 as l,
  (range % 4)::FLOAT as f, 'k' || (range % 5) as s, range % 2 = 0 as b,
  case when range % 3 = 0 then null else range::DOUBLE end as nd,
  case when range % 4 = 1 then null else md5(range::VARCHAR)[1:6] end as ns, (range * 1.5)::DECIMAL(9,2) as dec
  from range(40)
;
copy t to '$out/duckdb_v1_snappy.parquet' (format parquet, compression snappy)
;
copy t to '$out/duckdb_v2_zstd.parquet' (format parquet, compression zstd, parquet_version v2)
;
copy t to '$out/duckdb_v1_gzip_plain.parquet' (format parquet, compression gzip, dictionary_size_limit 1)
;
copy t to '$out/duckdb_v2_uncompressed.parquet' (format parquet, compression uncompressed, parquet_version v2,
  dictionary_size_limit 1)
;
copy t to '$out/duckdb_lz4_rowgroups.parquet' (format parquet, compression lz4, row_group_size 16)
;
copy t to '$out/duckdb_brotli.parquet' (format parquet, compression brotli)
;
copy (select 'nflx_sv_' || range as key, 0.9 + range / 100 as adm2, range / 50 as vif_scale0, 3.5 + range as motion2,
  60 + range as mos from range(12)) to '$out/feature_cache.parquet' (format parquet)
SQL
node "$root/tools/parquet/duckdb_sql.js" "$tmp/make.sql" >/dev/null
cat >"$tmp/jobs.json" <<JSON
[{"out": "$out/arrow_v2_deltas.parquet", "version": "v2", "compression": "SNAPPY", "page_bytes": 256,
  "encodings": {"s": "DELTA_BYTE_ARRAY", "ns": "DELTA_LENGTH_BYTE_ARRAY", "i": "DELTA_BINARY_PACKED",
                "d": "BYTE_STREAM_SPLIT", "b": "RLE"}},
 {"out": "$out/arrow_v2_dict_gzip.parquet", "version": "v2", "compression": "GZIP", "page_bytes": 128}]
JSON
(cd "$root/tools/parquet" && node arrow_rewrite.js "$out/duckdb_v1_snappy.parquet" "$tmp/jobs.json")
ls -l "$out"
