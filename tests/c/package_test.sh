#!/usr/bin/env bash
# The installed package works for another project: installs into a temporary prefix (CLI, libraries,
# headers, CMake package, .pc files, docs), then builds the C test program against it with a C-only CMake
# project (find_package(tinyqat): tinyqat::rt and tinyqat::rt_static) and with cc + pkg-config (shared,
# and --static), and runs each on a small registry made by the installed CLI.
set -euo pipefail
BUILD="$1"; SRC="$2"; DIR="$3"; CC="${4:-cc}"
rm -rf "$DIR"; mkdir -p "$DIR"
P="$DIR/prefix"
cmake --install "$BUILD" --prefix "$P" >/dev/null
LIBDIR="$(dirname "$(find "$P" -name 'libtinyqat_rt.so' | head -1)")"
for f in bin/tinyqat libexec/tinyqat/tinyqat-train include/tinyqat/session.h include/tinyqat/vmaf_dnn.h \
         share/doc/tinyqat/README.md share/doc/tinyqat/decisions/0005-cli-startup.md; do
  test -e "$P/$f" || { echo "FAILED: not installed: $f"; exit 1; }
done
for f in libtinyqat_rt.a libtinyqat_rt.so libtinyqat_vmafdnn.so pkgconfig/tinyqat_rt.pc pkgconfig/tinyqat_vmafdnn.pc \
         cmake/tinyqat/tinyqatConfig.cmake; do
  test -e "$LIBDIR/$f" || { echo "FAILED: not installed: $LIBDIR/$f"; exit 1; }
done
# Nothing of the build or source tree may leak into the installed package files.
if grep -rq -e "$SRC/src" -e "$BUILD" "$LIBDIR/cmake" "$LIBDIR/pkgconfig"; then
  echo "FAILED: package files refer to the build or source tree"; exit 1
fi
# The shared runtime exports the C API only.
if nm -D --defined-only "$LIBDIR/libtinyqat_rt.so" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | grep -v '^tq_' | grep -q .; then
  echo "FAILED: libtinyqat_rt.so exports more than tq_*"; exit 1
fi

cmake -S "$SRC/tests/c/consumer" -B "$DIR/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_PREFIX_PATH="$P" -DSESSION_TEST_SOURCE="$SRC/tests/c/session_test.c" >/dev/null
cmake --build "$DIR/cmake-build" >/dev/null
flags=(-std=c99 -pedantic -Wall -Werror)
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# shellcheck disable=SC2046  # pkg-config's output is a list of words
"$CC" "${flags[@]}" "$SRC/tests/c/session_test.c" -o "$DIR/pc-shared" $(pkg-config --cflags --libs tinyqat_rt) \
  -Wl,-rpath,"$LIBDIR" -lm
# --static: the archive itself in place of -ltinyqat_rt (cc would take the .so beside it).
static_libs="$(pkg-config --static --libs tinyqat_rt | sed "s|-ltinyqat_rt|$LIBDIR/libtinyqat_rt.a|")"
# shellcheck disable=SC2086
"$CC" "${flags[@]}" "$SRC/tests/c/session_test.c" -o "$DIR/pc-static" $(pkg-config --cflags tinyqat_rt) $static_libs
if readelf -d "$DIR/pc-static" | grep -q 'libtinyqat_rt'; then echo "FAILED: pc-static loads libtinyqat_rt.so"; exit 1; fi

TQ="$P/bin/tinyqat"
cd "$DIR"
"$TQ" zoo learned_filter -o lf.onnx --channels 1 --width 4 --num-blocks 1 >/dev/null
"$TQ" ptq lf.onnx --mode dynamic -o lf.int8.onnx 2>/dev/null  # runs the installed libexec/tinyqat/tinyqat-train
"$TQ" registry add reg/registry.json --id lf --onnx lf.onnx --int8 lf.int8.onnx --license MIT >/dev/null
n=0
for prog in cmake-build/consumer_rt cmake-build/consumer_rt_static pc-shared pc-static; do
  LD_LIBRARY_PATH="$LIBDIR" "./$prog" open reg/registry.json lf int8 int8-unmeasured force-int8
  n=$((n + 1))
done
echo "package_consumer: $n passed, 0 failed"
