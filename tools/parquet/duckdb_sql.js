#!/usr/bin/env node
'use strict';
// Runs SQL statements with DuckDB (npm @duckdb/node-api, an independent Parquet writer and reader) in an
// in-memory database. The tests write Parquet files with it (COPY ... TO 'x.parquet' (FORMAT parquet,
// COMPRESSION ..., PARQUET_VERSION ...)) and check that tinyqat reads back exactly what it wrote.
//
//   node tools/parquet/duckdb_sql.js SCRIPT.sql      statements separated by lines holding only ';'
//   node tools/parquet/duckdb_sql.js --version       prints DuckDB's version
//
// Rows of the last statement are printed as JSON lines. Exit code 2 with a one-line message on any error.

const fs = require('node:fs');

function fail(msg) {
  process.stderr.write(`duckdb_sql: ${String(msg).split('\n')[0]}\n`);
  process.exit(2);
}

async function main() {
  let duckdb;
  try {
    duckdb = require('@duckdb/node-api');
  } catch (e) {
    fail(`@duckdb/node-api is not installed in tools/parquet (run scripts/setup.sh): ${e.message}`);
  }
  const args = process.argv.slice(2);
  if (args.length !== 1) fail('usage: node tools/parquet/duckdb_sql.js SCRIPT.sql | --version');
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  if (args[0] === '--version') {
    const r = await conn.runAndReadAll('select version() as v');
    process.stdout.write(`${r.getRowObjects()[0].v}\n`);
    return;
  }
  const text = fs.readFileSync(args[0], 'utf8');
  const statements = text.split(/^\s*;\s*$/m).map((s) => s.trim()).filter((s) => s.length > 0);
  let last = null;
  for (const s of statements) {
    try {
      last = await conn.runAndReadAll(s);
    } catch (e) {
      fail(`${e.message} (in: ${s.slice(0, 120)})`);
    }
  }
  if (last) {
    for (const row of last.getRowObjectsJson()) process.stdout.write(`${JSON.stringify(row)}\n`);
  }
}

main().catch((e) => fail(e.message));
