#!/usr/bin/env bash
# The GPU memory one guided denoising step (two passes of video expert + audio DiT + bridge)
# needs at the published widths, measured without a GPU: the joint-step benchmark runs the CUDA
# backend on the CUDA emulator in its memory-only mode (MOVA_CUDA_EMULATOR_MEMORY_ONLY=1: every
# allocation as on a GPU, nothing computed; docs/cuda.md), on the published-layer checkpoint
# (one layer per tower at published width; every further layer adds its weights, not
# activations). Times printed there mean nothing; the device peak is the figure.
#   scripts/device-memory.sh [BUILD_DIR]   (default build; needs bench_joint_step_emulated)
# Writes the 2.5 GB checkpoint to $MOVA_DEVICE_MEMORY_MODEL (default /tmp/mova-published-layer)
# once and reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bench=$build/bin/bench_joint_step_emulated
model=${MOVA_DEVICE_MEMORY_MODEL:-/tmp/mova-published-layer}
[[ -x $bench ]] || cmake --build "$build" --target bench_joint_step_emulated mova
[[ -f $model/model_index.json ]] || "$build/bin/mova" make-tiny --preset published-layer "$model"

run() {  # label, device GiB, bench arguments...
  local label=$1 gib=$2
  shift 2
  local peak
  peak=$(MOVA_CUDA_EMULATOR_MEMORY_ONLY=1 MOVA_CUDA_EMULATOR_MEMORY_MIB=$((gib * 1024)) \
    "$bench" --model "$model" --device cuda --frames 49 --audio 402 "$@" 2>&1 |
    awk '/device peak/ {print $3 " MiB"} /out of .* memory/ {print "out of memory: " $0}')
  printf '%-44s %s\n' "$label" "${peak:-no figure: run the benchmark itself to see why}"
}

echo "one CFG step, 193 frames, published widths, one layer per tower (weights 1.4 GiB):"
run "360p (43,120 video tokens), bf16" 140 --height 44 --width 80 --precision bf16
run "360p, f32" 140 --height 44 --width 80 --precision f32
run "720p (176,400 video tokens), bf16" 140 --height 90 --width 160 --precision bf16
run "720p, f32" 140 --height 90 --width 160 --precision f32
run "720p bf16, 24 GiB card, weights via 512 MiB" 24 --height 90 --width 160 --precision bf16 \
  --device-weights-mib 512
