#!/usr/bin/env bash
# Configures and builds tinyqat in build/ (Release). The CLI ends up at build/tinyqat.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-$(nproc)}"
# ccache, when installed, makes rebuilds and other checkouts cheap; CI works without it.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f build/build.ninja ]]; then
  echo "build: configuring (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
fi
echo "build: compiling with $jobs jobs"
cmake --build build -- -j"$jobs"
echo "build: done — build/tinyqat"
