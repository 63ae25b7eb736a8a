#!/usr/bin/env bash
# Runs examples/vmaf_filter_luma (the C consumer of libvmaf's DNN API) on a zoo learned_filter: three
# 64×48 frames are filtered (output the size of the input, not a copy of it); a trailing partial frame
# and a frame size a fixed-size model cannot take are errors (exit 2, one line).
set -euo pipefail
TQ="$1"; EX="$2"; DIR="$3"
rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
"$TQ" zoo learned_filter -o lf.onnx --channels 1 --width 8 --num-blocks 1 >/dev/null
LC_ALL=C awk 'BEGIN { for (i = 0; i < 64 * 48 * 3; i++) printf "%c", 16 + (i * 7 + int(i / 64) * 3) % 200 }' > in.y
[[ $(stat -c %s in.y) == 9216 ]] || { echo "FAILED: test input"; exit 1; }
"$EX" lf.onnx in.y out.y 64 48 2 | tee run.txt
grep -q "runs on: tinyqat-cpu fp32" run.txt
grep -q "filtered 3 frame(s) of 64x48" run.txt
[[ $(stat -c %s out.y) == 9216 ]] || { echo "FAILED: output size"; exit 1; }
if cmp -s in.y out.y; then echo "FAILED: output equals input"; exit 1; fi
head -c 100 in.y >> in.y
if "$EX" lf.onnx in.y out2.y 64 48 2> err.txt; then echo "FAILED: partial frame accepted"; exit 1; fi
grep -q "not a whole number of frames" err.txt
echo "ok: vmaf_filter_luma"
