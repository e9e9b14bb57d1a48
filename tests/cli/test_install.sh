#!/usr/bin/env bash
# `cmake --install` gives a self-contained mova (ctest install_tree): bin/mova and the bundled
# model under share/mova/models, and, when built (MOVA_BUILD_SHARED), libmova.so, mova.h and
# mova.pc. The prefix is moved after installing and everything is run from elsewhere with no
# $MOVA_MODEL, so the binary must find the model beside itself, not in this source tree; then
# `mova generate` writes a clip with it, and a C program built against the installed library
# through pkg-config generates one too.
#   test_install.sh BUILD_DIR SOURCE_DIR SHARED(0|1) SANITIZE(0|1) CMAKE C_COMPILER
# (the build's own cmake and C compiler: a sanitized library needs its compiler's runtime)
set -euo pipefail
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd) shared=$3 sanitize=$4 cmake=$5 cc=$6
work=$(cd "$(mktemp -d)" && pwd -P)  # as /proc/self/exe will name it, links resolved
trap 'rm -rf "$work"' EXIT
"$cmake" --install "$build" --prefix "$work/prefix" >"$work/install.log"
mv "$work/prefix" "$work/moved"
prefix=$work/moved
[[ -x "$prefix/bin/mova" ]] || { echo "no bin/mova installed"; exit 1; }
[[ -f "$prefix/share/mova/models/nano/model_index.json" ]] ||
  { echo "the bundled model is not installed"; exit 1; }
cd /
unset MOVA_MODEL
"$prefix/bin/mova" -v --threads 2 generate --prompt "a face says ba" --steps 1 --frames 5 \
  --output "$work/clip.mp4" 2>"$work/generate.log" >/dev/null ||
  { cat "$work/generate.log"; exit 1; }
want="no --model: the bundled model at $prefix/share/mova/models/nano"
grep -qF "$want" "$work/generate.log" ||
  { echo "expected '$want' in:"; cat "$work/generate.log"; exit 1; }
[[ -s "$work/clip.mp4" ]] || { echo "no clip written"; exit 1; }
echo "installed mova runs from a moved prefix with its own bundled model"

if [[ "$shared" != 1 ]]; then
  echo "libmova.so not built (MOVA_BUILD_SHARED=OFF): the library part is skipped"
  exit 0
fi
pc=$(find "$prefix" -name mova.pc -print -quit)
[[ -n "$pc" ]] || { echo "no mova.pc installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
flags=()
[[ "$sanitize" == 1 ]] && flags=("-fsanitize=address,undefined")
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into arguments
"$cc" -std=c99 -Wall -Werror ${flags[@]+"${flags[@]}"} "$source/tests/api/c_consumer.c" \
  -o "$work/consumer" \
  $(pkg-config --cflags --libs mova)
libdir=$(pkg-config --variable=libdir mova)
LD_LIBRARY_PATH=$libdir "$work/consumer" "$prefix/share/mova/models/nano" "$work/lib_clip.mp4"
[[ -s "$work/lib_clip.mp4" ]] || { echo "the C program wrote no clip"; exit 1; }
# Only the C API is exported.
others=$(nm -D --defined-only "$libdir/libmova.so" | awk '{print $3}' | grep -v '^mova_' || true)
[[ -z "$others" ]] || { echo "libmova.so exports more than mova_*:"; echo "$others" | head; exit 1; }
echo "a C program built against the installed libmova.so through pkg-config generates a clip"
