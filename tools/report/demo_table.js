// Prints the main job's result table (markdown) from the files scripts/demo.sh wrote in OUT:
//   node tools/report/demo_table.js OUT FP32.onnx SECONDS
'use strict';
const fs = require('fs');
const path = require('path');
const c = require('../ort/common.js');

const [out, fp32, seconds] = process.argv.slice(2);
if (!out || !fp32) {
  console.error('usage: node tools/report/demo_table.js OUT FP32.onnx SECONDS');
  process.exit(2);
}
const json = (f) => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8'));
const size = (f) => `${(fs.statSync(f).size / 1024).toFixed(1)} KiB`;
const fp32Bench = json('fp32.bench.json');
const rows = [['fp32 (after the fp32 phase)', null, fp32, fp32Bench]];
for (const [label, m] of [['QAT int8 (tinyqat qat)', 'learned_filter.int8'], ['static PTQ int8 (mse)', 'static.int8'],
                          ['dynamic PTQ int8', 'dynamic.int8']])
  rows.push([label, json(`${m}.compare.json`).outputs[0], path.join(out, `${m}.onnx`), json(`${m}.bench.json`)]);

const first = rows[1][1];
const lines = [];
lines.push(`# learned_filter(16, 4): QAT vs PTQ on held-out photos`);
lines.push('');
lines.push(`Eval: ${json('learned_filter.int8.compare.json').samples} crops 64×64 from photos never trained on ` +
           `(blur σ=1.2 + JPEG Q35). Latency: tinyqat runtime, 1 thread, one 224×224 frame, median of 30.`);
lines.push('');
lines.push('| model | PLCC drop vs fp32 | PSNR vs clean (dB) | file size | latency (ms) | speed vs fp32 |');
lines.push('|---|---|---|---|---|---|');
for (const [label, cmp, file, bench] of rows) {
  const drop = cmp ? cmp.plcc_drop.toExponential(2) : '—';
  const psnr = cmp ? cmp.int8_target_psnr.toFixed(3) : first.fp32_target_psnr.toFixed(3);
  const speed = (fp32Bench.median_ms / bench.median_ms).toFixed(2) + '×';
  lines.push(`| ${label} | ${drop} | ${psnr} | ${size(file)} | ${bench.median_ms.toFixed(2)} | ${speed} |`);
}
const ours = c.readNpy(path.join(out, 'ours', 'filtered.npy')), ort = c.readNpy(path.join(out, 'ort', 'filtered.npy'));
let m = 0;
for (let i = 0; i < ours.data.length; i++) m = Math.max(m, Math.abs(ours.data[i] - ort.data[i]));
lines.push('');
lines.push(`ONNX Runtime 1.30 runs the QAT int8 file too: max |tinyqat − ORT| = ${m.toExponential(2)} ` +
           `over ${ours.data.length} values of a 224×224 frame.`);
if (seconds) lines.push(`Main job time: ${seconds} s (corpus, training, PTQ, measurements).`);
console.log(lines.join('\n'));
