#!/usr/bin/env bash
# The MP4 file is a function of the generated frames and audio: two runs of the same generation
# under different heap contents (glibc's MALLOC_PERTURB_) must write the same bytes. Fails when
# the encoder reads uninitialised memory (x264's macroblock tree did, see media/mp4_writer.cc).
#   mp4_determinism.sh MOVA_BINARY MODEL_DIR
set -euo pipefail
mova=$1
model=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for perturb in 0 85 170; do
  MALLOC_PERTURB_=$perturb "$mova" -q generate --model "$model" --steps 2 --seed 5 \
    --prompt "A cartoon face with yellow skin says 'ba' three times." \
    --output "$tmp/clip_$perturb.mp4"
done
for perturb in 85 170; do
  if ! cmp -s "$tmp/clip_0.mp4" "$tmp/clip_$perturb.mp4"; then
    echo "FAIL: MALLOC_PERTURB_=$perturb changed the MP4 ($(cmp "$tmp/clip_0.mp4" "$tmp/clip_$perturb.mp4" || true))"
    exit 1
  fi
done
echo "ok: 3 runs, identical MP4s ($(wc -c < "$tmp/clip_0.mp4") bytes)"
