#!/usr/bin/env bash
# Drives tests/c/session_test.c: builds a registry with the CLI (a zoo learned_filter, its dynamic int8),
# then checks each decision of the C API: int8 verified, prefer fp32, measured within / over budget,
# int8 altered / missing (fallback), fp32 altered and unknown id and broken registry (refused).
set -euo pipefail
TQ="$1"; PROG="$2"; DIR="$3"
rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
"$TQ" zoo learned_filter -o lf.onnx --channels 1 --width 8 --num-blocks 2 --example-input x.npy >/dev/null
"$TQ" ptq lf.onnx --mode dynamic -o lf.int8.onnx 2>/dev/null
"$TQ" registry add reg/registry.json --id lf --onnx lf.onnx --int8 lf.int8.onnx --license MIT >/dev/null
"$TQ" registry add reg/registry.json --id lf-fp32 --onnx lf.onnx --license MIT >/dev/null
R=reg/registry.json
pass=0; fail=0
check() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $*"; fi; }
# force-int8: the registry's rules alone, on any CPU (without it a CPU whose int8 kernels are predicted
# slower than its fp32 ones opens fp32: the TINYQAT_ISA=generic lines below).
check "$PROG" open $R lf int8 int8-unmeasured force-int8
check "$PROG" open $R lf int8 int8-unmeasured force-int8  # twice: nothing is cached between opens
check env TINYQAT_ISA=generic "$PROG" open $R lf fp32 int8-slower-on-this-cpu
check env TINYQAT_ISA=generic "$PROG" open $R lf int8 int8-unmeasured force-int8
check "$PROG" open $R lf fp32 fp32-preferred prefer-fp32
check "$PROG" open $R lf-fp32 fp32 fp32-entry
# Measured and recorded: within the default budget, then over a budget of 0.
"$TQ" measure lf --registry $R --data x.npy --record >/dev/null
check "$PROG" open $R lf int8 int8-within-budget force-int8
"$TQ" registry set $R lf quant_accuracy_budget_plcc=0 >/dev/null
"$TQ" measure lf --registry $R --data x.npy --record >/dev/null && rc=0 || rc=$?
check test "$rc" = 1
check "$PROG" open $R lf fp32 int8-over-budget
"$TQ" registry set $R lf quant_accuracy_budget_plcc= >/dev/null
# The int8 file altered, then missing: fallback to fp32.
cp reg/lf.int8.onnx keep.int8.onnx
printf 'x' >> reg/lf.int8.onnx
check "$PROG" open $R lf fp32 int8-digest-mismatch
rm reg/lf.int8.onnx
check "$PROG" open $R lf fp32 int8-missing
cp keep.int8.onnx reg/lf.int8.onnx
# Refusals: unknown id (3), fp32 altered (4), registry not JSON (2).
check "$PROG" refuse $R nosuch 3
cp reg/lf.onnx keep.onnx
printf 'x' >> reg/lf.onnx
check "$PROG" refuse $R lf 4
cp keep.onnx reg/lf.onnx
rm reg/lf-fp32.onnx
check "$PROG" refuse $R lf-fp32 4
cp keep.onnx reg/lf-fp32.onnx
printf '{"schema_version": 1, "models": [' > bad.json
check "$PROG" refuse bad.json lf 2
check "$PROG" open $R lf int8 int8-within-budget force-int8
echo "c_session_api: $pass passed, $fail failed"
test "$fail" = 0
