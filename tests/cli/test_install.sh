#!/usr/bin/env bash
# `cmake --install` gives a self-contained mova (ctest install_tree): bin/mova and the bundled
# model under share/mova/models. The prefix is moved after installing and the binary run from
# elsewhere with no $MOVA_MODEL, so it must find the model beside itself, not in this source
# tree; `mova generate` then writes a clip with it.
#   test_install.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
mv "$work/prefix" "$work/moved"
[[ -x "$work/moved/bin/mova" ]] || { echo "no bin/mova installed"; exit 1; }
[[ -f "$work/moved/share/mova/models/nano/model_index.json" ]] ||
  { echo "the bundled model is not installed"; exit 1; }
cd /
unset MOVA_MODEL
"$work/moved/bin/mova" -v --threads 2 generate --prompt "a face says ba" --steps 1 --frames 5 \
  --output "$work/clip.mp4" 2>"$work/generate.log" >/dev/null ||
  { cat "$work/generate.log"; exit 1; }
want="no --model: the bundled model at $work/moved/share/mova/models/nano"
grep -qF "$want" "$work/generate.log" ||
  { echo "expected '$want' in:"; cat "$work/generate.log"; exit 1; }
[[ -s "$work/clip.mp4" ]] || { echo "no clip written"; exit 1; }
echo "installed mova runs from a moved prefix with its own bundled model"
