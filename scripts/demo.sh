#!/usr/bin/env bash
# The README's main-job command. Installs dependencies, builds `mova`, writes the tiny
# checkpoint (the interim default model) to models/tiny and validates it with `mova info`.
# `mova generate` (prompt + image -> MP4) is not implemented yet: see docs/status.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target mova
if [[ ! -f models/tiny/model_index.json ]]; then
  build/bin/mova make-tiny models/tiny --seed 0
fi
build/bin/mova info models/tiny
