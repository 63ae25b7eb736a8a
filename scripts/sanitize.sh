#!/usr/bin/env bash
# The runtime under the sanitizers (clang; the trainer is left out: LibTorch is not instrumented).
#   address  build-fuzz/ (the tree scripts/fuzz.sh builds: every library instrumented with ASan + UBSan,
#            which aborts at the first report): the CLI, libtinyqat_vmafdnn and the runtime test suite
#            (tinyqat_tests, the C API tests, the installed-consumer tests), run by ctest; every test must
#            pass with no report. Sharing the tree with the fuzz targets compiles the libraries once.
#   thread   build-tsan/: the library instrumented with TSan and the C concurrency test: one session,
#            TQ_TEST_THREADS (default 8) threads x TQ_TEST_RUNS (default 200) runs each, every result
#            bitwise equal to the serial one, for each decision tests/c/run_c_test.sh checks, with the
#            input recorder on (TQ_TEST_RECORD).
# `bash scripts/sanitize.sh` runs both (CI: scripts/test.sh); `bash scripts/sanitize.sh thread` one.
# Exit non-zero on any failure or sanitizer report. docs/reliability.md has the numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
case "$what" in all | address | thread) ;; *)
  echo "usage: scripts/sanitize.sh [all|address|thread]" >&2
  exit 2
  ;;
esac
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ "$what" != thread ]]; then
  echo "sanitize: ASan + UBSan build of the runtime tests (build-fuzz/)"
  start=$(date +%s)
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DTINYQAT_BUILD_FUZZ=ON -DTINYQAT_BUILD_TRAIN=OFF -DTINYQAT_BUILD_TESTS=ON -DTINYQAT_BUILD_BENCH=OFF >/dev/null
  cmake --build build-fuzz -- -j"${JOBS:-2}" >build-fuzz/build.log 2>&1 || { tail -n 30 build-fuzz/build.log; exit 1; }
  echo "sanitize: built in $(($(date +%s) - start)) s"
  rm -rf build-fuzz/test-tmp
  start=$(date +%s)
  (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j"${JOBS:-2}" --timeout 1500) >build-fuzz/ctest.log 2>&1 ||
    { tail -n 200 build-fuzz/ctest.log; echo "sanitize: ASan + UBSan suite FAILED (build-fuzz/ctest.log)"; exit 1; }
  grep -E '^[0-9]+% tests|Total Test time' build-fuzz/ctest.log
  echo "sanitize: ASan + UBSan suite passed in $(($(date +%s) - start)) s"
fi
if [[ "$what" != address ]]; then
  echo "sanitize: TSan build (build-tsan/)"
  start=$(date +%s)
  CC=clang CXX=clang++ cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DTINYQAT_SANITIZE=thread -DTINYQAT_BUILD_TRAIN=OFF -DTINYQAT_BUILD_BENCH=OFF -DTINYQAT_BUILD_TESTS=ON >/dev/null
  # Only the library and the C program are instrumented: the CLI that prepares the models and registry is
  # the plain build's when there is one (scripts/build.sh), which saves compiling it again.
  cli=build/tinyqat targets=(tinyqat_c_session_test)
  [[ -x "$cli" ]] || cli=build-tsan/tinyqat targets+=(tinyqat_cli)
  cmake --build build-tsan --target "${targets[@]}" -- -j"${JOBS:-2}" >build-tsan/build.log 2>&1 ||
    { tail -n 30 build-tsan/build.log; exit 1; }
  echo "sanitize: built in $(($(date +%s) - start)) s"
  start=$(date +%s)
  mkdir -p build-tsan/test-tmp
  TQ_TEST_THREADS="${TQ_TEST_THREADS:-8}" TQ_TEST_RUNS="${TQ_TEST_RUNS:-200}" TQ_TEST_RECORD="$PWD/build-tsan/test-tmp/recorded.npz" \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    bash tests/c/run_c_test.sh "$PWD/$cli" "$PWD/build-tsan/tinyqat_c_session_test" \
    "$PWD/build-tsan/test-tmp/c_session_api" | tail -n 3
  echo "sanitize: TSan concurrency test passed in $(($(date +%s) - start)) s"
fi
