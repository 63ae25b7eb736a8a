#!/usr/bin/env bash
# The installed package works for another project: installs into a temporary prefix, then builds the C
# test program against it with CMake (find_package(tinyqat), tinyqat::rt) and with cc + pkg-config, and
# runs both on a small registry.
set -euo pipefail
BUILD="$1"; SRC="$2"; DIR="$3"
rm -rf "$DIR"; mkdir -p "$DIR"
cmake --install "$BUILD" --prefix "$DIR/prefix" >/dev/null
test -f "$DIR/prefix/include/tinyqat/session.h"
# Nothing of the build or source tree may leak into the installed package files.
if grep -rq -e "$SRC/src" -e "$BUILD" "$DIR/prefix/lib"*/cmake "$DIR/prefix/lib"*/pkgconfig 2>/dev/null; then
  echo "package files refer to the build or source tree"; exit 1
fi
cmake -S "$SRC/tests/c/consumer" -B "$DIR/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$DIR/prefix" -DSESSION_TEST_SOURCE="$SRC/tests/c/session_test.c" >/dev/null
cmake --build "$DIR/cmake-build" >/dev/null
PC_DIR="$(dirname "$(find "$DIR/prefix" -name tinyqat_rt.pc | head -1)")"
have_pc=0
if command -v pkg-config >/dev/null; then
  have_pc=1
  flags="$(PKG_CONFIG_PATH="$PC_DIR" pkg-config --cflags --libs tinyqat_rt)"
  cc -std=c99 -pedantic -Wall -Werror "$SRC/tests/c/session_test.c" -o "$DIR/pkgconfig-consumer" $flags
else
  echo "package_consumer: SKIP the pkg-config build: pkg-config is not installed (Debian pkgconf)"
fi
TQ="$BUILD/tinyqat"
cd "$DIR"
"$TQ" zoo learned_filter -o lf.onnx --channels 1 --width 4 --num-blocks 1 >/dev/null
"$TQ" ptq lf.onnx --mode dynamic -o lf.int8.onnx 2>/dev/null
"$TQ" registry add reg/registry.json --id lf --onnx lf.onnx --int8 lf.int8.onnx --license MIT >/dev/null
"$DIR/cmake-build/consumer" open reg/registry.json lf int8 int8-unmeasured
if ((have_pc)); then
  "$DIR/pkgconfig-consumer" open reg/registry.json lf int8 int8-unmeasured
  echo "package_consumer: 2 passed, 0 failed"
else
  echo "package_consumer: 1 passed, 0 failed, 1 skipped"
fi
