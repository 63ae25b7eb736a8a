#!/usr/bin/env node
'use strict';
// Measures ONNX Runtime latency of a model (reference numbers for tinyqat's
// own runtime), with the same session options as ort_run.js.
//
//   node tools/ort/ort_bench.js MODEL.onnx (--input NAME=FILE.npy | --shape NAME=1x1x224x224)...
//        [--threads 1] [--iterations N] [--warmup W] [--json] [--profile]
//
// --profile prints ORT's own per-node kernel time (median over the timed runs), like
// `tinyqat bench --profile`, from ORT's profiler (the profile JSON is written to the OS temp folder).
// --shape feeds a float32 tensor of deterministic pseudo-random values in [0,1).
// Exit code 2 with a one-line message on any error.

const common = require('./common');

const USAGE = `usage: node tools/ort/ort_bench.js MODEL.onnx (--input NAME=FILE.npy | --shape NAME=DxDx...)...
         [--threads N] [--iterations N] [--warmup W] [--json]
  --input NAME=FILE.npy  model input from a .npy file
  --shape NAME=1x1x224x224  float32 input filled with a fixed-seed LCG in [0,1)
  --threads N            intra-op threads (default 1; 0 = ORT default)
  --iterations N         timed runs (default 100)
  --warmup W             untimed runs first (default 10)
  --json                 print {model, threads, iterations, median_ms, min_ms, mean_ms}
  --profile              also print each node's median kernel time (ORT's profiler; adds overhead)`;

const SPEC = {
  input: 'multi',
  shape: 'multi',
  threads: 'value',
  iterations: 'value',
  warmup: 'value',
  json: 'bool',
  profile: 'bool',
  help: 'bool',
};

const LCG_SEED = 0x2545f491;

// Numerical Recipes LCG; returns a function yielding floats in [0, 1).
function makeLcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function parseShape(text, flag) {
  const dims = text.split(/[x,]/).map((d) => d.trim());
  if (dims.length === 0 || dims.some((d) => !/^\d+$/.test(d))) fail(`${flag}: bad shape '${text}' (use e.g. 1x1x224x224)`);
  return dims.map(Number);
}

function fail(msg) {
  common.fail(msg);
}

function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

// Per-node kernel times from ORT's profile (Chrome trace JSON): median per node, in graph order.
function printProfile(file) {
  const events = JSON.parse(require('fs').readFileSync(file, 'utf8'));
  const byNode = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!byNode.has(name)) byNode.set(name, { op: (e.args && e.args.op_name) || '?', us: [] });
    byNode.get(name).us.push(e.dur);
  }
  let total = 0;
  for (const [name, v] of byNode) {
    const m = median([...v.us].sort((a, b) => a - b));
    total += m;
    process.stdout.write(`  ${name.padEnd(32)} ${v.op.padEnd(22)} ${(m / 1000).toFixed(3)} ms/run\n`);
  }
  process.stdout.write(`  (sum of node medians ${(total / 1000).toFixed(3)} ms; profile: ${file})\n`);
}

async function main() {
  const { opts, positional } = common.parseArgs(process.argv.slice(2), SPEC);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positional.length !== 1) fail('expected exactly one MODEL.onnx argument (see --help)');
  const model = positional[0];
  const threads = common.parseIntOption(opts.threads, '--threads', 0) ?? 1;
  const iterations = common.parseIntOption(opts.iterations, '--iterations', 1) ?? 100;
  const warmup = common.parseIntOption(opts.warmup, '--warmup', 0) ?? 10;
  if (!opts.input && !opts.shape) fail('give each model input with --input NAME=FILE.npy or --shape NAME=DxD...');

  const profilePrefix = opts.profile
    ? require('path').join(require('os').tmpdir(), `ort_bench_profile_${process.pid}`)
    : undefined;
  const session = await common.createSession(model, { threads, profilePrefix });
  const ort = common.loadOrt();

  const feeds = {};
  const addFeed = (name, tensorFn) => {
    if (Object.prototype.hasOwnProperty.call(feeds, name)) fail(`input '${name}' given twice`);
    if (!session.inputNames.includes(name)) {
      fail(`model has no input '${name}'; model inputs: ${session.inputNames.join(', ')}`);
    }
    feeds[name] = tensorFn();
  };
  for (const arg of opts.input || []) {
    const [name, file] = common.splitNameValue(arg, '--input');
    addFeed(name, () => common.tensorFromNpy(session, name, common.readNpy(file), file));
  }
  const rand = makeLcg(LCG_SEED);
  for (const arg of opts.shape || []) {
    const [name, text] = common.splitNameValue(arg, '--shape');
    const dims = parseShape(text, '--shape');
    addFeed(name, () => {
      const info = common.describeSession(session).inputs.find((v) => v.name === name);
      if (info && info.type && info.type !== 'float32') {
        fail(`--shape makes float32 data but model input '${name}' is ${info.type}; use --input`);
      }
      const data = new Float32Array(common.product(dims));
      for (let i = 0; i < data.length; i++) data[i] = rand();
      return new ort.Tensor('float32', data, dims);
    });
  }
  common.checkFeeds(session, feeds);

  for (let i = 0; i < warmup; i++) await common.runSession(session, feeds);
  const times = new Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    await common.runSession(session, feeds);
    times[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  if (opts.profile) session.endProfiling();
  await session.release();
  // onnxruntime-node writes PREFIX_<date>.json and does not return the name: find it.
  const profileFile = opts.profile
    ? require('fs')
        .readdirSync(require('path').dirname(profilePrefix))
        .filter((f) => f.startsWith(require('path').basename(profilePrefix)))
        .map((f) => require('path').join(require('path').dirname(profilePrefix), f))[0]
    : undefined;
  if (opts.profile && !profileFile) fail('ORT wrote no profile file');

  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / iterations;
  const result = {
    model,
    threads,
    iterations,
    median_ms: Number(median(sorted).toFixed(4)),
    min_ms: Number(sorted[0].toFixed(4)),
    mean_ms: Number(mean.toFixed(4)),
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    process.stdout.write(
      `model: ${model}\n` +
        `threads: ${threads}, warmup: ${warmup}, iterations: ${iterations}\n` +
        `median: ${result.median_ms.toFixed(3)} ms  min: ${result.min_ms.toFixed(3)} ms  mean: ${result.mean_ms.toFixed(3)} ms\n` +
        `throughput: ${(1000 / mean).toFixed(1)} runs/s\n`,
    );
  }
  if (profileFile) printProfile(profileFile);
  return 0;
}

common.runMain('ort_bench', main);
