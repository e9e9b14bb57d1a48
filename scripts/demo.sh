#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds `mova` and generates out/demo.mp4
# (plus out/demo.frames.png and out/demo.audio.png previews) from a prompt and a first frame
# with the bundled default model, the nano MOVA in models/nano (see models/nano/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target mova
mkdir -p out
build/bin/mova generate --image docs/assets/nano_face_first_frame.png \
  --prompt "A cartoon face with yellow skin says 'ba' three times." \
  --output out/demo.mp4 --preview
