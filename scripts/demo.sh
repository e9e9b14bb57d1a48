#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds `mova`, writes the default model
# (the random-weight tiny checkpoint until the trained nano model lands, docs/status.md) to
# models/tiny, and generates out/demo.mp4 from a prompt and a first frame, with previews.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target mova
if [[ ! -f models/tiny/model_index.json ]]; then
  build/bin/mova make-tiny models/tiny --seed 0
fi
mkdir -p out
build/bin/mova generate --model models/tiny --image docs/assets/first_frame.png \
  --prompt "A red ball bounces twice on a wooden floor, thudding at each bounce." \
  --output out/demo.mp4 --preview
