#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the unit/integration suite (Release),
# the same suite under AddressSanitizer + UndefinedBehaviorSanitizer, and 60 s of libFuzzer over
# the parsers of untrusted input (safetensors header, images, tokenizer.json, component configs
# and model_index.json, sharded weights' index.json, `mova serve`'s HTTP request heads). This is
# the README's test command and what CI runs.
#   MOVA_TEST_QUICK=1 scripts/test.sh   # Release suite only
#   MOVA_FUZZ_SECONDS=N                 # total fuzzing time over all targets (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/install-deps.sh

echo "== build (Release) and test"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release | { grep "CUDA backend" || true; }
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [[ "${MOVA_TEST_QUICK:-0}" == "1" ]]; then exit 0; fi

echo "== build with ASan + UBSan and test"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOVA_SANITIZE=ON \
  -DMOVA_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== fuzz the parsers of untrusted input (libFuzzer + ASan)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMOVA_FUZZ=ON -DMOVA_BUILD_TESTS=OFF -DMOVA_BUILD_BENCH=OFF >/dev/null
targets=(safetensors_header:corpus image_decode:corpus_image tokenizer_json:corpus_tokenizer_json
  config_json:corpus_config weight_index:corpus_weight_index http_request:corpus_http
  prompt_clean:corpus_prompt charsmap:corpus_charsmap)
for entry in "${targets[@]}"; do
  cmake --build build-fuzz -j "$jobs" --target "fuzz_${entry%%:*}"
done
for entry in "${targets[@]}"; do
  name=${entry%%:*}
  work=$(mktemp -d)
  cp "fuzz/${entry#*:}"/* "$work/"
  echo "-- fuzz_$name"
  build-fuzz/bin/fuzz_"$name" -max_total_time=$(( ${MOVA_FUZZ_SECONDS:-60} / ${#targets[@]} )) \
    -print_final_stats=1 "$work" 2>&1 | tail -n 4
  rm -rf "$work"
done
echo "== all tests passed"
