#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the unit/integration suite (Release),
# the same suite under AddressSanitizer + UndefinedBehaviorSanitizer, and 60 s of libFuzzer on
# the safetensors header parser. This is the README's test command and what CI runs.
#   MOVA_TEST_QUICK=1 scripts/test.sh   # Release suite only
#   MOVA_FUZZ_SECONDS=N                 # fuzzing time (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh

echo "== build (Release) and test"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [[ "${MOVA_TEST_QUICK:-0}" == "1" ]]; then exit 0; fi

echo "== build with ASan + UBSan and test"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOVA_SANITIZE=ON \
  -DMOVA_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== fuzz the safetensors header parser (libFuzzer + ASan)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMOVA_FUZZ=ON -DMOVA_BUILD_TESTS=OFF -DMOVA_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_safetensors_header
work=$(mktemp -d)
cp fuzz/corpus/* "$work/"
build-fuzz/bin/fuzz_safetensors_header -max_total_time="${MOVA_FUZZ_SECONDS:-60}" \
  -print_final_stats=1 "$work" 2>&1 | tail -n 12
rm -rf "$work"
echo "== all tests passed"
