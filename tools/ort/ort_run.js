#!/usr/bin/env node
'use strict';
// Runs an ONNX model with ONNX Runtime (the project's reference runtime) on .npy
// inputs and writes every output to DIR/<output name>.npy.
//
//   node tools/ort/ort_run.js MODEL.onnx --input NAME=FILE.npy ... --out DIR
//        [--threads N] [--optimized-model PATH] [--no-optimize]
//   node tools/ort/ort_run.js MODEL.onnx --list
//
// Exit code 2 with a one-line message on any error.

const path = require('node:path');
const common = require('./common');

const USAGE = `usage: node tools/ort/ort_run.js MODEL.onnx --input NAME=FILE.npy ... --out DIR [--threads N] [--optimized-model PATH] [--no-optimize]
       node tools/ort/ort_run.js MODEL.onnx --list
  --input NAME=FILE.npy  model input from a .npy file (repeat per input; <f8 is fed as float32
                         unless the model input is float64)
  --out DIR              write each output to DIR/<output name>.npy ('/' in names becomes '_')
  --threads N            intra-op threads (default 1; 0 = ORT default)
  --optimized-model PATH save the graph ORT actually runs (after optimisation) to PATH
  --no-optimize          run the graph as written (no graph optimisations: Q/DQ pairs stay float
                         operators instead of ORT's fused integer kernels)
  --list                 print model inputs/outputs as JSON and exit`;

const SPEC = { input: 'multi', out: 'value', threads: 'value', 'optimized-model': 'value', 'no-optimize': 'bool', list: 'bool', help: 'bool' };

function outputFileName(name) {
  return `${name.includes('/') ? name.replace(/\//g, '_') : name}.npy`;
}

async function main() {
  const { opts, positional } = common.parseArgs(process.argv.slice(2), SPEC);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positional.length !== 1) common.fail(`expected exactly one MODEL.onnx argument (see --help)`);
  const model = positional[0];
  const threads = common.parseIntOption(opts.threads, '--threads', 0) ?? 1;
  const optimizedModelPath = opts['optimized-model'];

  if (!opts.list) {
    if (!opts.out) common.fail('--out DIR is required');
    if (!opts.input || opts.input.length === 0) common.fail('at least one --input NAME=FILE.npy is required');
  }

  const session = await common.createSession(model, { threads, optimizedModelPath, optimize: !opts['no-optimize'] });

  if (opts.list) {
    process.stdout.write(`${JSON.stringify(common.describeSession(session), null, 2)}\n`);
    return 0;
  }

  const feeds = {};
  for (const arg of opts.input) {
    const [name, file] = common.splitNameValue(arg, '--input');
    if (Object.prototype.hasOwnProperty.call(feeds, name)) common.fail(`input '${name}' given twice`);
    if (!session.inputNames.includes(name)) {
      common.fail(`model has no input '${name}'; model inputs: ${session.inputNames.join(', ')}`);
    }
    feeds[name] = common.tensorFromNpy(session, name, common.readNpy(file), file);
  }
  common.checkFeeds(session, feeds);

  // Resolve output file names before running so clashes fail early.
  const files = new Map();
  for (const name of session.outputNames) {
    const file = outputFileName(name);
    for (const [other, f] of files) {
      if (f === file) common.fail(`outputs '${other}' and '${name}' would both be written to ${file}`);
    }
    files.set(name, file);
  }

  const results = await common.runSession(session, feeds);

  common.makeDirs(opts.out);
  for (const name of session.outputNames) {
    const tensor = results[name];
    if (!tensor || tensor.dims === undefined) common.fail(`output '${name}' is not a tensor`);
    const file = path.join(opts.out, files.get(name));
    try {
      common.writeTensorNpy(file, tensor);
    } catch (e) {
      if (e instanceof common.ToolError) throw e;
      common.fail(`cannot write '${file}': ${e.code || e.message}`);
    }
  }
  await session.release();
  return 0;
}

common.runMain('ort_run', main);
