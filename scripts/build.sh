#!/usr/bin/env bash
# Configures and builds tinyqat in build/ (Release). The CLI ends up at build/tinyqat.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-$(nproc)}"
if [[ ! -f build/build.ninja ]]; then
  echo "build: configuring (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
echo "build: compiling with $jobs jobs"
cmake --build build -- -j"$jobs"
echo "build: done — build/tinyqat"
