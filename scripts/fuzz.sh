#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for FUZZ_SECONDS (default 30)
# on its seed corpus with a fixed seed (FUZZ_SEED, default 1) so a CI run is repeatable. Exit non-zero
# when a target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-30}"
echo "fuzz: building with clang (build-fuzz/)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTINYQAT_BUILD_FUZZ=ON -DTINYQAT_BUILD_TRAIN=OFF -DTINYQAT_BUILD_TESTS=OFF -DTINYQAT_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzz_onnx_import fuzz_npy fuzz_registry fuzz_parquet -- -j2 >/dev/null
for t in onnx_import:onnx npy:npy registry:registry parquet:parquet; do
  name="${t%%:*}" corpus="${t##*:}"
  work="build-fuzz/corpus-$corpus"
  mkdir -p "$work"
  dict=()
  [[ -f "fuzz/$corpus.dict" ]] && dict=(-dict="fuzz/$corpus.dict")
  echo "fuzz: fuzz_$name for ${secs}s"
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "build-fuzz/fuzz/fuzz_$name" -max_total_time="$secs" -seed="${FUZZ_SEED:-1}" -rss_limit_mb=2048 -max_len=65536 \
    "${dict[@]}" -artifact_prefix="build-fuzz/crash-$name-" "$work" "fuzz/corpus/$corpus" 2>&1 | tail -n 3
done
echo "fuzz: no crashes"
