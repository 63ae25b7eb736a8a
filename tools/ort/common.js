'use strict';
// Shared helpers for the ONNX Runtime reference tools (ort_run.js, ort_bench.js):
// a small .npy reader/writer, ORT session creation with the project's fixed
// options, and argument-parsing helpers.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// Exit code for every error (bad arguments, unreadable files, ORT errors).
const EXIT_ERROR = 2;

class ToolError extends Error {}

function fail(msg) {
  throw new ToolError(msg);
}

// Runs an async main(); any error becomes one line on stderr and exit code 2.
function runMain(toolName, main) {
  const report = (err) => {
    const msg = (err && err.message ? err.message : String(err)).replace(/\s*\n\s*/g, ' | ').trim();
    process.stderr.write(`${toolName}: error: ${msg}\n`);
    process.exit(EXIT_ERROR);
  };
  process.on('unhandledRejection', report);
  Promise.resolve()
    .then(main)
    .then((code) => process.exit(typeof code === 'number' ? code : 0), report);
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (run scripts/setup.sh): ${e.message}`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// .npy format
// ---------------------------------------------------------------------------

// npy descr (little-endian / byte-agnostic) <-> ORT tensor type and typed array.
const NPY_TYPES = {
  '<f4': { ort: 'float32', Array: Float32Array },
  '<f8': { ort: 'float64', Array: Float64Array },
  '|i1': { ort: 'int8', Array: Int8Array },
  '|u1': { ort: 'uint8', Array: Uint8Array },
  '<i2': { ort: 'int16', Array: Int16Array },
  '<u2': { ort: 'uint16', Array: Uint16Array },
  '<i4': { ort: 'int32', Array: Int32Array },
  '<u4': { ort: 'uint32', Array: Uint32Array },
  '<i8': { ort: 'int64', Array: BigInt64Array },
  '<u8': { ort: 'uint64', Array: BigUint64Array },
  '|b1': { ort: 'bool', Array: Uint8Array },
};
// Aliases numpy may write for one-byte and native-order types.
const NPY_ALIASES = { '<i1': '|i1', '<u1': '|u1', '<b1': '|b1', '=f4': '<f4', '=f8': '<f8' };

const ORT_TO_NPY = {};
for (const [descr, t] of Object.entries(NPY_TYPES)) ORT_TO_NPY[t.ort] = descr;
ORT_TO_NPY.float16 = '<f2'; // raw IEEE half bits, written as-is

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

if (os.endianness() !== 'LE') {
  // Typed arrays are used directly on file bytes below.
  throw new Error('tools/ort supports little-endian hosts only');
}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// Parses a .npy buffer. Returns {descr, ort, shape, data} where data is a fresh
// typed array (its own aligned ArrayBuffer).
function parseNpy(buf, label = 'npy') {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) fail(`${label}: not a .npy file (bad magic)`);
  const major = buf[6];
  let headerLen;
  let headerStart;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(`${label}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    fail(`${label}: unsupported .npy version ${major}.${buf[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) fail(`${label}: truncated .npy header`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);

  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) fail(`${label}: malformed .npy header: ${header.trim()}`);
  let descr = descrM[1];
  descr = NPY_ALIASES[descr] || descr;
  const type = NPY_TYPES[descr];
  if (!type) {
    fail(`${label}: unsupported dtype '${descrM[1]}' (supported: ${Object.keys(NPY_TYPES).join(' ')})`);
  }
  if (fortranM[1] === 'True') fail(`${label}: fortran_order arrays are not supported (save with C order)`);
  const shape = shapeM[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(n) || n < 0) fail(`${label}: bad shape entry '${s}'`);
      return n;
    });
  const count = product(shape);
  const nbytes = count * type.Array.BYTES_PER_ELEMENT;
  if (buf.length - dataStart < nbytes) {
    fail(`${label}: file holds ${buf.length - dataStart} data bytes, shape (${shape.join(', ')}) ${descr} needs ${nbytes}`);
  }
  // Copy into a fresh, aligned ArrayBuffer.
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(dataStart, dataStart + nbytes));
  return { descr, ort: type.ort, shape, data: new type.Array(ab) };
}

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`cannot read '${file}': ${e.code || e.message}`);
  }
  return parseNpy(buf, file);
}

// Serialises a typed array as .npy v1.0 (v2.0 only if the header cannot fit).
// `descr` is the numpy dtype string, `shape` an array of ints.
function encodeNpy(descr, shape, data) {
  const shapeStr = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = Buffer.alloc(total, 0x20);
  NPY_MAGIC.copy(header, 0);
  header[6] = major;
  header[7] = 0;
  if (major === 1) header.writeUInt16LE(headerLen, 8);
  else header.writeUInt32LE(headerLen, 8);
  header.write(dict, prefix, 'latin1');
  header[total - 1] = 0x0a;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([header, body]);
}

// mkdir -p without fs.mkdirSync({recursive: true}): Node 20's recursive mkdir
// spins forever on some paths (e.g. /proc/x) instead of failing.
function makeDirs(dir) {
  const abs = path.resolve(dir);
  let st;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    if (e.code !== 'ENOENT') fail(`cannot create directory '${dir}': ${e.code || e.message}`);
  }
  if (st) {
    if (!st.isDirectory()) fail(`cannot create directory '${dir}': exists and is not a directory`);
    return;
  }
  const parent = path.dirname(abs);
  if (parent !== abs) makeDirs(parent);
  try {
    fs.mkdirSync(abs);
  } catch (e) {
    if (e.code !== 'EEXIST') fail(`cannot create directory '${dir}': ${e.code || e.message}`);
  }
}

function writeNpy(file, descr, shape, data) {
  fs.writeFileSync(file, encodeNpy(descr, shape, data));
}

// Writes an ORT output tensor as .npy.
function writeTensorNpy(file, tensor) {
  const descr = ORT_TO_NPY[tensor.type];
  if (!descr) fail(`cannot write output of type '${tensor.type}' as .npy`);
  let data = tensor.data;
  if (tensor.type === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  if (!ArrayBuffer.isView(data)) fail(`output data of type '${tensor.type}' is not a typed array`);
  writeNpy(file, descr, Array.from(tensor.dims, Number), data);
}

// ---------------------------------------------------------------------------
// ORT session
// ---------------------------------------------------------------------------

// Session options used by every tool: fixed thread counts, full graph
// optimisation, sequential execution. ORT's own log is limited to errors (3) so
// stderr stays one line per failure; the "optimized model contains hardware
// specific (NCHWc) ops" warning printed with optimizedModelFilePath is dropped.
// Note: onnxruntime-node 1.30 ignores interOpNumThreads (its binding does not read
// it); with executionMode 'sequential' ORT uses no inter-op pool anyway.
function sessionOptions({ threads = 1, optimizedModelPath, profilePrefix, optimize = true } = {}) {
  const opts = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: optimize ? 'all' : 'disabled',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };
  if (optimizedModelPath) opts.optimizedModelFilePath = optimizedModelPath;
  if (profilePrefix) Object.assign(opts, { enableProfiling: true, profileFilePrefix: profilePrefix });
  return opts;
}

async function createSession(modelPath, { threads = 1, optimizedModelPath, profilePrefix, optimize = true } = {}) {
  try {
    fs.accessSync(modelPath, fs.constants.R_OK);
  } catch (e) {
    fail(`cannot read model '${modelPath}': ${e.code || e.message}`);
  }
  if (optimizedModelPath) {
    const dir = path.dirname(path.resolve(optimizedModelPath));
    if (!fs.existsSync(dir)) fail(`directory for --optimized-model does not exist: ${dir}`);
  }
  const ort = loadOrt();
  try {
    return await ort.InferenceSession.create(modelPath, sessionOptions({ threads, optimizedModelPath, profilePrefix, optimize }));
  } catch (e) {
    fail(`ORT failed to load '${modelPath}': ${e.message}`);
  }
  return undefined;
}

// {name, type?, shape?} for each input/output, using metadata where the API has it.
function describeValues(names, metadata) {
  return names.map((name, i) => {
    const m = metadata && metadata[i];
    const out = { name };
    if (m && m.name === name) {
      if (m.isTensor === false) {
        out.isTensor = false;
      } else if (m.isTensor) {
        out.type = m.type;
        out.shape = Array.from(m.shape);
      }
    }
    return out;
  });
}

function describeSession(session) {
  return {
    inputs: describeValues(session.inputNames, session.inputMetadata),
    outputs: describeValues(session.outputNames, session.outputMetadata),
  };
}

// Builds an ORT tensor from a parsed .npy for model input `name`. float64 data is
// converted to float32 unless the model input itself is float64.
function tensorFromNpy(session, name, npy, label) {
  const ort = loadOrt();
  const info = describeSession(session).inputs.find((v) => v.name === name);
  let { ort: type, data } = npy;
  if (type === 'float64' && !(info && info.type === 'float64')) {
    type = 'float32';
    data = Float32Array.from(data);
  }
  if (info && info.type && info.type !== type) {
    fail(`${label}: dtype ${type} does not match model input '${name}' (${info.type})`);
  }
  try {
    return new ort.Tensor(type, data, npy.shape);
  } catch (e) {
    fail(`${label}: ${e.message}`);
  }
  return undefined;
}

// Checks that feeds name exactly the model's inputs.
function checkFeeds(session, feeds) {
  const given = Object.keys(feeds);
  const unknown = given.filter((n) => !session.inputNames.includes(n));
  if (unknown.length) fail(`unknown input(s) ${unknown.join(', ')}; model inputs: ${session.inputNames.join(', ')}`);
  const missing = session.inputNames.filter((n) => !given.includes(n));
  if (missing.length) fail(`missing input(s) ${missing.join(', ')} (pass --input NAME=FILE.npy)`);
}

async function runSession(session, feeds) {
  try {
    return await session.run(feeds);
  } catch (e) {
    fail(`ORT run failed: ${e.message}`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------

// Splits argv into flags/values. `spec` maps flag -> 'bool' | 'value' | 'multi'.
// Accepts "--flag value" and "--flag=value". Returns {opts, positional}.
function parseArgs(argv, spec) {
  const opts = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positional.push(arg);
      continue;
    }
    let value;
    const eq = arg.indexOf('=');
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const key = arg.slice(2);
    const kind = spec[key];
    if (!kind) fail(`unknown option ${arg}`);
    if (kind === 'bool') {
      if (value !== undefined) fail(`option ${arg} takes no value`);
      opts[key] = true;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`option ${arg} needs a value`);
      value = argv[++i];
    }
    if (kind === 'multi') (opts[key] = opts[key] || []).push(value);
    else opts[key] = value;
  }
  return { opts, positional };
}

// "NAME=VALUE" -> [NAME, VALUE] (split at the first '=').
function splitNameValue(s, flag) {
  const eq = s.indexOf('=');
  if (eq <= 0 || eq === s.length - 1) fail(`${flag} expects NAME=VALUE, got '${s}'`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function parseIntOption(value, flag, min) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) fail(`${flag} expects an integer >= ${min}, got '${value}'`);
  return Number(value);
}

module.exports = {
  EXIT_ERROR,
  ToolError,
  fail,
  runMain,
  loadOrt,
  NPY_TYPES,
  ORT_TO_NPY,
  parseNpy,
  readNpy,
  encodeNpy,
  writeNpy,
  makeDirs,
  writeTensorNpy,
  sessionOptions,
  createSession,
  describeSession,
  tensorFromNpy,
  checkFeeds,
  runSession,
  parseArgs,
  splitNameValue,
  parseIntOption,
  product,
};
