#!/usr/bin/env bash
# Installs everything mova.cpp needs to build, test and benchmark, from Debian only.
# Idempotent: packages already present are skipped by apt-get; `apt-get update` runs only
# when something is missing. Usage: scripts/install-deps.sh [--no-python]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libsentencepiece-dev sentencepiece
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg
  libpng-dev libjpeg-dev
  libopenblas-dev
)
python_packages=(python3 python3-numpy python3-torch python3-sentencepiece python3-pil)

want=("${packages[@]}")
if [[ "${1:-}" != "--no-python" ]]; then want+=("${python_packages[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
