#!/usr/bin/env bash
# Data-parallel epoch time: learned_filter (configs/learned_filter_v1_qat.yaml, 512 crops 64×64, global
# batch 16) trained 1 rank × 1 thread against 2 local ranks × 1 thread (--nproc 2), fp32 and QAT epochs,
# with the time each step spends in collectives (gradient bucket, SyncBN sums, observer ranges). Reads the
# epoch log of --report; the first epoch of each phase is left out (warm-up) when there are several.
#   bash bench/dist_epoch.sh            (EPOCHS=3 per phase by default; needs build/corpus: scripts/corpus.sh)
# With EPOCHS past the config's freeze_observers_epoch (EPOCHS=10: the shipped QAT phase) the table also
# splits the QAT epochs into those with live observers (a range collective per observed tensor and
# step) and those after the freeze.
# Writes build/bench-dist/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TQ=${TQ:-./build/tinyqat}
EPOCHS=${EPOCHS:-3}
OUT=build/bench-dist
CFG=configs/learned_filter_v1_qat.yaml
[ -f build/corpus/filter_train.npz ] || bash scripts/corpus.sh
mkdir -p "$OUT"
run() {  # name, extra args
  local name="$1"; shift
  "$TQ" qat -q -c "$CFG" -o "$OUT/$name.int8.onnx" --report "$OUT/$name.json" --threads 1 \
    --epochs-fp32 "$EPOCHS" --epochs-qat "$EPOCHS" "$@" >/dev/null
}
# Mean seconds (and comm seconds / steps) per epoch of a phase, warm-up epoch dropped.
# QAT epochs after the config's freeze_observers_epoch use frozen observer ranges (no range collectives).
FREEZE=$(sed -nE 's/^ *freeze_observers_epoch: *([0-9]+).*/\1/p' "$CFG")
stat() {  # json, phase (fp32, qat, qat-live: observers still live, qat-frozen), field
  python3 - "$1" "$2" "$3" "${FREEZE:-0}" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
phase, freeze = sys.argv[2], int(sys.argv[4])
base = "qat" if phase.startswith("qat") else phase
es = [e for e in j["epochs"] if e["phase"] == base and e["epoch"] >= 1]
if phase != "qat-frozen" and len(es) > 1: es = es[1:]
if phase == "qat-live": es = [e for e in es if e["epoch"] <= freeze]
if phase == "qat-frozen": es = [e for e in es if e["epoch"] > freeze]
if not es:
    print("-"); sys.exit()
f = sys.argv[3]
if f == "comm_ms_per_step":
    v = [1000 * e["comm_seconds"] / e["steps"] for e in es if "comm_seconds" in e]
    print("%.2f" % (sum(v) / len(v)) if v else "-")
elif f == "comm_share":
    v = [e["comm_seconds"] / e["seconds"] for e in es if "comm_seconds" in e]
    print("%.0f %%" % (100 * sum(v) / len(v)) if v else "-")
else:
    print("%.3f" % (sum(e[f] for e in es) / len(es)))
EOF
}
run one
run two --nproc 2
{
  echo "| phase | 1 rank × 1 thread (s/epoch) | 2 ranks × 1 thread (s/epoch) | ratio 2/1 | comm ms/step | comm share |"
  echo "|---|---|---|---|---|---|"
  phases="fp32 qat"
  [ "$EPOCHS" -gt "${FREEZE:-0}" ] && [ -n "$FREEZE" ] && phases="$phases qat-live qat-frozen"
  for ph in $phases; do
    a=$(stat "$OUT/one.json" $ph seconds) b=$(stat "$OUT/two.json" $ph seconds)
    echo "| $ph | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b/a}') | $(stat "$OUT/two.json" $ph comm_ms_per_step) | $(stat "$OUT/two.json" $ph comm_share) |"
  done
} > "$OUT/table.md"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >> "$OUT/table.md"
cat "$OUT/table.md"
