#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds with the CUDA backend and runs the CUDA parity tests
# (tests/cuda; they are skipped, with the reason, everywhere else), printing the device first.
# Usage: scripts/gpu-check.sh [gtest filter, default: all of mova_cuda_tests]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOVA_CUDA=ON -DMOVA_BUILD_BENCH=OFF \
  >/dev/null
cmake --build build-cuda -j "$(nproc)" --target mova_cuda_tests
build-cuda/bin/mova_cuda_tests --gtest_filter="${1:-*}" --gtest_color=no
