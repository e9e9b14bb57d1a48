#!/usr/bin/env bash
# The GPU memory MOVA needs at the published sizes, measured without a GPU: the CUDA backend on
# the CUDA emulator in its memory-only mode (MOVA_CUDA_EMULATOR_MEMORY_ONLY=1: every allocation
# as on a GPU, nothing computed; docs/cuda.md). Times printed there mean nothing.
# - One guided denoising step (two passes of video expert + audio DiT + bridge): the joint-step
#   benchmark on the published-layer checkpoint (one layer per tower at published width; every
#   further layer adds its weights, not activations).
# - The VAEs' decoding: `mova generate` (its stage table's GPU peak column) on the
#   published-vaes checkpoint (published VAEs, tiny DiTs and text encoder).
#   scripts/device-memory.sh [BUILD_DIR]   (default build)
# Writes the checkpoints (2.5 GB and 1 GB) under $MOVA_DEVICE_MEMORY_MODELS (default /tmp)
# once and reuses them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bench=$build/bin/bench_joint_step_emulated
models=${MOVA_DEVICE_MEMORY_MODELS:-/tmp}
model=$models/mova-published-layer vaes=$models/mova-published-vaes
cmake --build "$build" --target bench_joint_step_emulated mova_emulated mova >/dev/null
[[ -f $model/model_index.json ]] || "$build/bin/mova" make-tiny --preset published-layer "$model"
[[ -f $vaes/model_index.json ]] || "$build/bin/mova" make-tiny --preset published-vaes "$vaes"

run() {  # label, device GiB, bench arguments...
  local label=$1 gib=$2
  shift 2
  local peak
  peak=$(MOVA_CUDA_EMULATOR_MEMORY_ONLY=1 MOVA_CUDA_EMULATOR_MEMORY_MIB=$((gib * 1024)) \
    "$bench" --model "$model" --device cuda --frames 49 --audio 402 "$@" 2>&1 |
    awk '/device peak/ {print $3 " MiB"} /out of .* memory/ {print "out of memory: " $0}') || true
  printf '%-44s %s\n' "$label" "${peak:-no figure: run the benchmark itself to see why}"
}

echo "one CFG step, 193 frames, published widths, one layer per tower (weights 1.4 GiB):"
run "360p (43,120 video tokens), bf16" 140 --height 44 --width 80 --precision bf16
run "360p, f32" 140 --height 44 --width 80 --precision f32
run "360p bf16, whole passes (no token chunks)" 140 --height 44 --width 80 --precision bf16 \
  --chunk-tokens 0
run "720p (176,400 video tokens), bf16" 140 --height 90 --width 160 --precision bf16
run "720p, f32" 140 --height 90 --width 160 --precision f32
run "720p bf16, whole passes (no token chunks)" 140 --height 90 --width 160 --precision bf16 \
  --chunk-tokens 0
run "720p bf16, 24 GiB card, weights via 512 MiB" 24 --height 90 --width 160 --precision bf16 \
  --device-weights-mib 512

decode() {  # label, generate arguments...
  local label=$1
  shift
  local out
  out=$(mktemp -d)
  MOVA_CUDA_EMULATOR_MEMORY_ONLY=1 MOVA_CUDA_EMULATOR_MEMORY_MIB=$((140 * 1024)) \
    "$build/bin/mova_emulated" generate --model "$vaes" --device cuda --prompt "memory" \
    --frames 193 --steps 1 --output "$out/clip.mp4" "$@" 2>&1 |
    awk -v label="$label" '$1 == "video-decode" || $1 == "audio-decode" {
      printf "%-44s %s %s\n", label ", " $1, $(NF - 1), $NF }'
  rm -rf "$out"
}

echo "decoding 193 frames with the published VAEs:"
decode "360p" --width 640 --height 352
decode "720p" --width 1280 --height 720
decode "720p --vae-tiling" --width 1280 --height 720 --vae-tiling
