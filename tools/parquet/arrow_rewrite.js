#!/usr/bin/env node
'use strict';
// Rewrites a Parquet file with arrow-rs (npm parquet-wasm: the Rust `parquet` crate compiled to
// WebAssembly), a second independent writer next to DuckDB. It writes what DuckDB does not: data page v2
// headers (writer version V2), DELTA_BYTE_ARRAY, RLE booleans, small pages.
//
//   node tools/parquet/arrow_rewrite.js IN.parquet JOBS.json
//
// JOBS: a list of {"out": "OUT.parquet", "version": "v1"|"v2", "compression": "SNAPPY"|...,
//       "dictionary": true|false, "encodings": {"column": "DELTA_BYTE_ARRAY", ...}, "page_bytes": N,
//       "row_group_rows": N}: one process writes them all (loading the WebAssembly module takes a while).
// Exit code 2 with a one-line message on any error.

const fs = require('node:fs');

function fail(msg) {
  process.stderr.write(`arrow_rewrite: ${String(msg).split('\n')[0]}\n`);
  process.exit(2);
}

function main() {
  let pw;
  try {
    pw = require('parquet-wasm/node');
  } catch (e) {
    fail(`parquet-wasm is not installed in tools/parquet (run scripts/setup.sh): ${e.message}`);
  }
  const [input, jobsPath] = process.argv.slice(2);
  if (!input || !jobsPath) fail('usage: node tools/parquet/arrow_rewrite.js IN.parquet JOBS.json');
  const jobs = JSON.parse(fs.readFileSync(jobsPath, 'utf8'));
  const bytes = new Uint8Array(fs.readFileSync(input));
  for (const o of jobs) write(pw, bytes, o);
}

function write(pw, bytes, o) {
  if (!o.out) fail('a job without "out"');
  const table = pw.readParquet(bytes);  // writeParquet takes the table over: one per job
  let b = new pw.WriterPropertiesBuilder();
  b = b.setWriterVersion(o.version === 'v1' ? pw.WriterVersion.V1 : pw.WriterVersion.V2);
  if (o.compression) {
    if (!(o.compression in pw.Compression)) fail(`unknown compression ${o.compression}`);
    b = b.setCompression(pw.Compression[o.compression]);
  }
  if (o.dictionary !== undefined) b = b.setDictionaryEnabled(Boolean(o.dictionary));
  for (const [col, enc] of Object.entries(o.encodings || {})) {
    if (!(enc in pw.Encoding)) fail(`unknown encoding ${enc}`);
    b = b.setColumnDictionaryEnabled(col, false).setColumnEncoding(col, pw.Encoding[enc]);
  }
  if (o.page_bytes) b = b.setDataPageSizeLimit(o.page_bytes).setWriteBatchSize(Math.max(1, Math.floor(o.page_bytes / 64)));
  if (o.row_group_rows) b = b.setMaxRowGroupSize(o.row_group_rows);
  b = b.setCreatedBy('arrow-rs via parquet-wasm (tinyqat tests)');
  fs.writeFileSync(o.out, pw.writeParquet(table, b.build()));
}

try {
  main();
} catch (e) {
  fail(e && e.message ? e.message : e);
}
