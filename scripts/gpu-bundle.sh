#!/usr/bin/env bash
# Builds the CUDA parity tests and the benchmarks that run on a GPU (the DiT block, the joint
# step, the VAEs, the text encoder) here (no GPU needed to build) and packs them, stripped and
# gzipped, into .gpu/bundle.tar.gz (git-ignored) for a GPU machine that has none of this
# project's build dependencies, such as the device machines lent to sessions: the device tool
# carries at most 64 MiB with the working tree, and the checkout alone is ≈ 40 MB. (Not `mova`
# itself: its FFmpeg libraries alone are 166 MB; the parity tests run every model the CLI
# would.) On the GPU machine: scripts/gpu-run.sh (it unpacks the bundle and finds the driver's
# and CUDA's libraries there). With the device tool: run scripts/gpu-run.sh with carry [".gpu"].
set -euo pipefail
cd "$(dirname "$0")/.."
programs=(mova_cuda_tests bench_cuda_dit_block bench_joint_step bench_vae bench_text_encoder)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMOVA_CUDA=ON >/dev/null
cmake --build build -j "$(nproc)" --target "${programs[@]}"
stage=build/gpu-bundle
rm -rf "$stage" .gpu && mkdir -p "$stage/lib" .gpu
for p in "${programs[@]}"; do cp "build/bin/$p" "$stage/"; done
# Debian libraries the binaries need that a CUDA image may lack (not glibc, libstdc++, CUDA's).
(cd "$stage" && ldd "${programs[@]}") | sort -u | awk '/=> \// {print $3}' |
  grep -vE '/(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|libcublas|libcublasLt)\.so' |
  xargs -r -I{} cp -L {} "$stage/lib/"
find "$stage" -type f -exec strip --strip-unneeded {} +
tar -czf .gpu/bundle.tar.gz -C "$stage" .
echo "packed .gpu/bundle.tar.gz ($(du -h .gpu/bundle.tar.gz | cut -f1)):"
tar -tzvf .gpu/bundle.tar.gz | awk '$6 != "./" {printf "  %s %s\n", $3, $6}'
