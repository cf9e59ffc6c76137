#!/usr/bin/env bash
# The whole test suite, as CI runs it: release build + all tests, the same tests under
# AddressSanitizer/UndefinedBehaviorSanitizer, then bounded fuzz runs of the GGUF reader, the
# model loader and the serve request parsers.
# Our own code builds with -Werror (HEARTH_WERROR) in all three builds (the sanitizer build
# keeps GCC's -Wmaybe-uninitialized a warning: its only hits are false positives in <regex>).
# Tests that need ../shared skip with a message when it is absent.
# Env: JOBS (parallelism, default nproc), SKIP_SANITIZE=1, FUZZ_SECONDS (per fuzz target,
# default 30, 0 = skip).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

echo "== release build and tests =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DHEARTH_WERROR=ON -DHEARTH_PCH=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure --timeout 900

if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== ASan + UBSan build and tests =="
  # -g1 (line tables: sanitizer reports still name functions, files and lines) instead of -g
  # compiles ~40% faster; precompiled headers spare each test file parsing GoogleTest and JSON.
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_SANITIZE=ON -DHEARTH_WERROR=ON -DHEARTH_PCH=ON \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 1800
fi

if [ "${FUZZ_SECONDS:-30}" != 0 ] && [ -x scripts/fuzz.sh ]; then
  echo "== fuzzing the GGUF reader, the model loader, the serve request parsers and the grammar layer for ${FUZZ_SECONDS:-30} s each =="
  HEARTH_WERROR=ON FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh
fi
echo "== all tests passed =="
