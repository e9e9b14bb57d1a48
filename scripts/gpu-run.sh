#!/usr/bin/env bash
# On a GPU machine, runs what scripts/gpu-bundle.sh packed into .gpu/: the CUDA parity tests.
# Finds libcublasLt.so.13 wherever that machine's CUDA or PyTorch installation keeps it.
# Usage: scripts/gpu-run.sh [gtest filter, default Cuda*]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x .gpu/mova_cuda_tests ]] || { echo "no .gpu/mova_cuda_tests: run scripts/gpu-bundle.sh first" >&2; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
if ! ldconfig -p 2>/dev/null | grep -q libcublasLt.so.13; then
  lib=$(find /usr/local /opt /usr/lib -name 'libcublasLt.so.13*' 2>/dev/null | head -n 1)
  [[ -n "$lib" ]] || { echo "libcublasLt.so.13 not found on this machine" >&2; exit 2; }
  export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
.gpu/mova_cuda_tests --gtest_filter="${1:-Cuda*}" --gtest_color=no
