#!/usr/bin/env bash
# Builds the CUDA parity tests, the CUDA block benchmark and the joint-step benchmark here (no
# GPU needed to build) and packs them into .gpu/ (git-ignored) for a GPU machine that has none
# of this project's build dependencies, such as the device machines lent to sessions. (Not
# `mova` itself: its FFmpeg libraries alone are 166 MB, over the device tool's 64 MiB carry;
# the parity tests run every model the CLI would.) On the GPU machine: scripts/gpu-run.sh (it
# finds the driver's and CUDA's libraries there). With the device tool: run scripts/gpu-run.sh
# with carry [".gpu"].
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOVA_CUDA=ON >/dev/null
cmake --build build -j "$(nproc)" --target mova_cuda_tests bench_cuda_dit_block bench_joint_step
rm -rf .gpu && mkdir -p .gpu/lib
cp build/bin/mova_cuda_tests build/bin/bench_cuda_dit_block build/bin/bench_joint_step .gpu/
# Debian libraries the binary needs that a CUDA image may lack (not glibc, libstdc++, CUDA's).
ldd .gpu/mova_cuda_tests .gpu/bench_cuda_dit_block .gpu/bench_joint_step | sort -u | awk '/=> \// {print $3}' |
  grep -vE '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|libcublas|libcublasLt)\.so' |
  xargs -r -I{} cp -L {} .gpu/lib/
echo "packed .gpu ($(du -sh .gpu | cut -f1)):"
find .gpu -type f | sort | sed 's/^/  /'
