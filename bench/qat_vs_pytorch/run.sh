#!/usr/bin/env bash
# QAT speed and accuracy: `tinyqat qat` against PyTorch 1.13 FX QAT (prepare_qat_fx + convert_fx, Debian's
# python3-torch) on the same net (learned_filter(16, 4)), data (512 crops 64×64, all trained on), epochs
# (20 fp32 + 10 QAT), batch size (16), optimizer (AdamW, lr 1e-3 / 1e-4) and threads (1), run one after
# the other ROUNDS times (default 1). Writes build/bench-qat/table.md.
#   apt-get install python3-torch   # the peer; not needed by anything else
#   ROUNDS=2 bash bench/qat_vs_pytorch/run.sh
# PEER_ALLOC=ours gives the peer the allocator policy our trainer sets with mallopt (32 MiB mmap threshold,
# 1 GiB trim threshold, 64 MiB top pad) through GLIBC_TUNABLES: a PyTorch user's default is glibc's, which
# page-faults on every step's activation buffers.
set -euo pipefail
cd "$(dirname "$0")/../.."
TQ=${TQ:-./build/tinyqat}
OUT=build/bench-qat
PY=/usr/bin/python3
$PY -c "import torch" 2>/dev/null || { echo "SKIP: Debian's python3-torch is not installed (apt-get install python3-torch)"; exit 0; }
mkdir -p "$OUT"
[ -f build/corpus/filter_train.npz ] || bash scripts/corpus.sh
# Our side on exactly the peer's setting: no validation split (every crop trains), no best-epoch choice.
sed -e 's|^val_frac:.*|val_frac: 0|' configs/learned_filter_v1_qat.yaml >"$OUT/learned_filter_bench.yaml"
for r in $(seq 1 "${ROUNDS:-1}"); do
  echo "round $r: tinyqat qat"
  "$TQ" qat -q -c "$OUT/learned_filter_bench.yaml" -o "$OUT/ours_$r.int8.onnx" --checkpoint "$OUT/ours_$r.ckpt.onnx" \
    --threads 1 --report "$OUT/ours_$r.json"
  "$TQ" compare "$OUT/ours_$r.ckpt.onnx" "$OUT/ours_$r.int8.onnx" --data build/corpus/filter_eval.npz --target clean \
    --json >"$OUT/ours_$r.compare.json"
  echo "round $r: PyTorch FX QAT"
  peer_env=()
  [[ ${PEER_ALLOC:-} == ours ]] &&
    peer_env=(GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864)
  env "${peer_env[@]}" $PY bench/qat_vs_pytorch/pytorch_fx_qat.py --train build/corpus/filter_train.npz --eval build/corpus/filter_eval.npz \
    --width 16 --blocks 4 --epochs-fp32 20 --epochs-qat 10 --batch-size 16 --lr 1e-3 --lr-qat 1e-4 --threads 1 \
    --json "$OUT/peer_$r.json" >/dev/null
done
node - "$OUT" "${ROUNDS:-1}" <<'JS' | tee "$OUT/table.md"
const fs = require('fs');
const [out, rounds] = process.argv.slice(2);
const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rd = (f) => JSON.parse(fs.readFileSync(`${out}/${f}`, 'utf8'));
const o = { f: [], q: [], drop: [], psnr: [] }, p = { f: [], q: [], drop: [], psnr: [], gap: [] };
for (let r = 1; r <= +rounds; r++) {
  const ours = rd(`ours_${r}.json`), cmp = rd(`ours_${r}.compare.json`).outputs[0], peer = rd(`peer_${r}.json`);
  o.f.push(...ours.epochs.filter((e) => e.phase === 'fp32').map((e) => e.seconds));
  o.q.push(...ours.epochs.filter((e) => e.phase === 'qat' && e.epoch > 0).map((e) => e.seconds));
  o.drop.push(cmp.fp32_target_plcc - cmp.int8_target_plcc);
  o.psnr.push([cmp.fp32_target_psnr, cmp.int8_target_psnr]);
  p.f.push(...peer.fp32_epoch_s); p.q.push(...peer.qat_epoch_s); p.drop.push(peer.plcc_drop);
  p.psnr.push([peer.psnr.fp32, peer.psnr.int8]); p.gap.push(peer.fq_vs_int8_gap);
}
const f3 = (x) => x.toFixed(3), e2 = (x) => x.toExponential(2);
console.log(`| learned_filter(16,4), 512 crops 64×64, batch 16, 1 thread | tinyqat (LibTorch 1.13) | PyTorch 1.13 FX | ours / PyTorch |`);
console.log('|---|---|---|---|');
console.log(`| fp32 epoch, median (s) | ${f3(med(o.f))} | ${f3(med(p.f))} | ${(med(o.f) / med(p.f)).toFixed(2)}× |`);
console.log(`| QAT epoch, median (s) | ${f3(med(o.q))} | ${f3(med(p.q))} | ${(med(o.q) / med(p.q)).toFixed(2)}× |`);
console.log(`| fake-quant overhead over own fp32 epoch | ${((med(o.q) / med(o.f) - 1) * 100).toFixed(1)} % | ${((med(p.q) / med(p.f) - 1) * 100).toFixed(1)} % | |`);
console.log(`| PLCC-with-clean drop, int8 vs fp32 (held-out) | ${o.drop.map(e2).join(', ')} | ${p.drop.map(e2).join(', ')} | |`);
console.log(`| PSNR vs clean fp32 → int8 (dB) | ${o.psnr.map(([a, b]) => `${a.toFixed(2)} → ${b.toFixed(2)}`).join(', ')} | ${p.psnr.map(([a, b]) => `${a.toFixed(2)} → ${b.toFixed(2)}`).join(', ')} | |`);
console.log(`| int8 vs its own fake-quant forward (1 − PLCC) | 0 (bit-exact, tests/train) | ${p.gap.map(e2).join(', ')} | |`);
JS
