#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each on its seed corpus.
#
# Default (CI): each target runs a fixed number of executions (its count below, scaled by FUZZ_SCALE,
# default 1) from an empty work corpus with a fixed seed (FUZZ_SEED, default 1). Runs of one seed are not
# identical (coverage feedback differs between processes), so a crash found in CI may not show here: a
# failing target prints its crash input in base64 (up to 16 KiB) for `base64 -d > crash; fuzz_X crash`.
# FUZZ_SECONDS (default 60) only caps a target on a slow machine. Exit non-zero when a target finds a
# crash. FUZZ_TARGETS="npy shape" runs only those.
#
# --long: the nightly-style campaign (docs/reliability.md): each target until FUZZ_RUNS executions
# (default 10 000 000) or FUZZ_SECONDS (default 3600) pass, whichever comes first, with a new seed
# (FUZZ_SEED, default: the time) and inputs up to 1 MiB; one summary line per target (executions,
# seconds, executions per second) also goes to build-fuzz/long-summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
long=0
[[ "${1:-}" == "--long" ]] && long=1
if ((long)); then
  secs="${FUZZ_SECONDS:-3600}" seed="${FUZZ_SEED:-$(date +%s)}" max_len=1048576
  limits=(-runs="${FUZZ_RUNS:-10000000}")
else
  secs="${FUZZ_SECONDS:-60}" seed="${FUZZ_SEED:-1}" max_len=65536
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# target:corpus:executions in the default run (5 to 25 s each on an idle core, about 3 minutes in all).
all=(onnx_import:onnx:150000 npy:npy:120000 registry:registry:60000 parquet:parquet:120000
  onnx_external:onnx_external:90000 shape:shape:400000 sidecar:sidecar:60000 features_csv:features_csv:90000
  c_api:c_api:40000 train_config:train_config:10000 vmafdnn_open:vmafdnn_open:10000)
targets=() binaries=()
for t in "${all[@]}"; do
  if [[ -z "${FUZZ_TARGETS:-}" || " $FUZZ_TARGETS " == *" ${t%%:*} "* ]]; then
    targets+=("$t") binaries+=("fuzz_${t%%:*}")
  fi
done
echo "fuzz: building with clang (build-fuzz/)"
# Tests on: scripts/sanitize.sh builds and runs the unit tests in this same ASan + UBSan tree.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DTINYQAT_BUILD_FUZZ=ON -DTINYQAT_BUILD_TRAIN=OFF -DTINYQAT_BUILD_TESTS=ON -DTINYQAT_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${binaries[@]}" -- -j"${JOBS:-2}" >/dev/null
summary=build-fuzz/long-summary.txt
((long)) && echo "# fuzz --long $(date -u +%FT%TZ) seed $seed, at most ${secs}s or ${FUZZ_RUNS:-10000000} runs per target" >"$summary"
for t in "${targets[@]}"; do
  IFS=: read -r name corpus runs <<<"$t"
  work="build-fuzz/corpus-$corpus"
  if ((long)); then
    limits=(-runs="${FUZZ_RUNS:-10000000}")
  else
    # A fresh work corpus each time: what the run explores depends only on the seed and the count.
    rm -rf "$work"
    limits=(-runs="$(awk -v r="$runs" -v s="${FUZZ_SCALE:-1}" 'BEGIN { printf "%d", r * s }')")
  fi
  mkdir -p "$work"
  dict=()
  [[ -f "fuzz/$corpus.dict" ]] && dict=(-dict="fuzz/$corpus.dict")
  echo "fuzz: fuzz_$name, ${limits[0]#-runs=} executions at most ${secs}s, seed $seed"
  log="build-fuzz/fuzz_$name.log"
  rm -f build-fuzz/crash-"$name"-*
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "build-fuzz/fuzz/fuzz_$name" -max_total_time="$secs" "${limits[@]}" -seed="$seed" -rss_limit_mb=2048 \
    -max_len="$max_len" -print_final_stats=1 "${dict[@]}" -artifact_prefix="build-fuzz/crash-$name-" \
    "$work" "fuzz/corpus/$corpus" >"$log" 2>&1 || {
    tail -n 40 "$log"
    for a in build-fuzz/crash-"$name"-*; do  # libFuzzer's crash-, timeout-, oom- or leak- file
      [[ -f $a ]] && echo "fuzz: $a ($(stat -c %s "$a") bytes) in base64: $(head -c 16384 "$a" | base64 -w0)"
    done
    echo "fuzz: fuzz_$name FAILED"
    exit 1
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  line="fuzz_$name: ${runs:-?} execs in ${took:-?} s, ${rate:-?} execs/s"
  echo "  $line"
  ((long)) && echo "$line" >>"$summary"
done
echo "fuzz: no crashes"
