#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds `mova` and generates out/demo.mp4
# from a prompt and a first frame, with previews, with the bundled nano model (models/nano) or,
# until that is in the repository (docs/status.md), a random-weight tiny checkpoint written to
# models/tiny.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target mova
mkdir -p out
if [[ -f models/nano/model_index.json ]]; then
  build/bin/mova generate --image docs/assets/nano_first_frame.png \
    --prompt "A big orange ball bounces on a wooden floor, making a knock each time it lands." \
    --output out/demo.mp4 --preview
  exit 0
fi
if [[ ! -f models/tiny/model_index.json ]]; then
  build/bin/mova make-tiny models/tiny --seed 0
fi
build/bin/mova generate --model models/tiny --image docs/assets/first_frame.png \
  --prompt "A red ball bounces twice on a wooden floor, thudding at each bounce." \
  --output out/demo.mp4 --preview
