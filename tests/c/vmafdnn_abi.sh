#!/usr/bin/env bash
# The ABI of libtinyqat_vmafdnn: (1) `nm -D` lists exactly the eight vmaf_dnn_* symbols; (2) the C99
# program tests/c/vmafdnn_abi.c compiled against include/tinyqat/vmaf_dnn.h links with -ltinyqat_vmafdnn
# and passes; (3) the same program compiled against the fork's own libvmaf/dnn.h (../shared; a two-line
# libvmaf.h shim stands in for libvmaf) links unchanged, prints the same struct layout and passes.
set -euo pipefail
TQ="$1"; LIB="$2"; SRC="$3"; DIR="$4"; CC="${5:-cc}"
rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
libdir="$(dirname "$LIB")"

want="vmaf_dnn_available vmaf_dnn_session_attached_ep vmaf_dnn_session_close vmaf_dnn_session_open vmaf_dnn_session_run vmaf_dnn_session_run_luma8 vmaf_dnn_session_run_plane16 vmaf_dnn_verify_signature"
got="$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')"
if [[ "$got" != "$want" ]]; then
  echo "FAILED: exported symbols differ"; echo " want: $want"; echo " got:  $got"; exit 1
fi
echo "ok: exports exactly the 8 vmaf_dnn_* symbols"

"$TQ" zoo learned_filter -o lf.onnx --channels 1 --width 8 --num-blocks 1 >/dev/null
flags=(-std=c99 -Wall -Wextra -pedantic -Werror)
link=(-L"$libdir" -ltinyqat_vmafdnn -Wl,-rpath,"$libdir")
"$CC" "${flags[@]}" -I"$SRC/include" "$SRC/tests/c/vmafdnn_abi.c" -o ours "${link[@]}"
./ours layout > layout_ours.txt
./ours run lf.onnx

FORK="$SRC/../shared/fork-api/libvmaf-dnn"
if [[ ! -f "$FORK/dnn.h" ]]; then
  echo "SKIP ../shared/fork-api not found: not compiled against the fork's dnn.h"; exit 0
fi
"$CC" "${flags[@]}" -DFORK_DNN_H -I"$FORK" -I"$SRC/tests/c/vmaf_shim" "$SRC/tests/c/vmafdnn_abi.c" -o fork "${link[@]}"
./fork layout > layout_fork.txt
diff layout_ours.txt layout_fork.txt || { echo "FAILED: struct layout differs from the fork's dnn.h"; exit 1; }
./fork run lf.onnx
echo "ok: a program compiled against the fork's dnn.h links and runs"
