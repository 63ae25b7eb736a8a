#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test (ctest), then a short libFuzzer
# run of each fuzz target (a fixed seed and execution count, scripts/fuzz.sh; FUZZ_SECONDS=0 skips it),
# then the sanitizer runs (scripts/sanitize.sh; SANITIZE=0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# Real photos for the data tests (Debian's python3-skimage); the tests print SKIP without them.
bash scripts/fetch_photos.sh >/dev/null || echo "test: SKIP real photos: scripts/fetch_photos.sh failed"
if [[ -d ../shared/fork-models ]]; then
  echo "test: ../shared/fork-models found — the fork's real models are checked too"
else
  echo "test: SKIP ../shared/fork-models not found — the fork's real models are not checked"
fi
rm -rf build/test-tmp
(cd build && ctest --output-on-failure -j2 --timeout 900)
if [[ "${FUZZ_SECONDS:-30}" != 0 ]]; then
  bash scripts/fuzz.sh
fi
# The runtime suite again under ASan + UBSan (in the fuzz build's tree), and the C concurrency test under
# TSan with the library instrumented (scripts/sanitize.sh; SANITIZE=0 skips both).
if [[ "${SANITIZE:-1}" != 0 ]]; then
  bash scripts/sanitize.sh
fi
