#!/usr/bin/env bash
# Trains the nano MOVA end to end, resumably: every stage skips what is already done, and the
# trainers resume from their state files, so re-running after an interruption continues.
#
#   tools/nano/train.sh [STAGE...]     stages: data model vae gate normalize dit export eval
#                                      (none: all, in that order); also `save COMPONENT...`
#
# Work files do not survive a machine, so trained components are carried between sessions in
# the bundled model itself: `train.sh save video_dit audio_dit ...` copies them from model/ to
# models/nano/, and the model stage starts from models/nano (from make-tiny when it is absent).
#
# Everything lives in $NANO_WORK (default: .nano-train in the repository, git-ignored):
# data/, heldout/ and gateset/ (world.py), model/ (the checkpoint being trained, published layout),
# the trainers' *_state.pt and logs. `export` copies model/ to models/nano (the bundled
# default). Step counts: $VIDEO_VAE_STEPS, $AUDIO_VAE_STEPS, $DIT_STEPS, $DECODER_STEPS;
# training clips: $DATA_CLIPS.
# On the 2-core machine each VAE trainer takes one core; see tools/nano/TRAINING.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${NANO_WORK:-$ROOT/.nano-train}"
PY=/usr/bin/python3
NANO="$ROOT/tools/nano"
MOVA="$ROOT/build/bin/mova"
VIDEO_VAE_STEPS="${VIDEO_VAE_STEPS:-20000}"
AUDIO_VAE_STEPS="${AUDIO_VAE_STEPS:-40000}"
DIT_STEPS="${DIT_STEPS:-60000}"
DATA_CLIPS="${DATA_CLIPS:-6000}"
DECODER_STEPS="${DECODER_STEPS:-20000}"
# Debian's torch calls OpenBLAS, whose own thread pool ignores torch.set_num_threads: two
# trainers on two cores then oversubscribe them (measured: matmul time ×3.5 in a DiT step).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# OpenBLAS picks its kernels by CPU model and falls back to its oldest (SSE3, "Prescott") on
# a model it does not know, as on this project's 2-core VMs (measured there: the DiT's matmul
# shapes at 16-30 GFLOP/s against 100-140 with the AVX-512 kernels, a denoiser step's
# forward + backward 2x faster). Name the kernels by the CPU's features instead.
if [[ -z "${OPENBLAS_CORETYPE:-}" ]]; then
  flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
  if [[ " $flags " == *" avx512f "* && " $flags " == *" avx512dq "* && " $flags " == *" avx512bw "* && " $flags " == *" avx512vl "* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ " $flags " == *" avx2 "* && " $flags " == *" fma "* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
mkdir -p "$WORK"
cd "$WORK"

stage_data() {
  [[ -f data/index.json ]] || "$PY" "$NANO/world.py" --out data --count 2000 --seed 1000 2>/dev/null
  # More clips than the first 2000 (session 9: the denoiser overfit them); seeds stay contiguous
  # from 1000, so the latent cache's clip numbering never changes.
  local have
  have=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["clips"]))' data/index.json)
  if ((have < DATA_CLIPS)); then
    "$PY" "$NANO/world.py" --out data --append --count $((DATA_CLIPS - have)) \
      --seed $((1000 + have)) 2>/dev/null
  fi
  [[ -f heldout/index.json ]] || "$PY" "$NANO/world.py" --out heldout --count 20 --seed 500000 2>/dev/null
  # The VAE gate's own clips: on the 20 held-out ones (5 per kind) two decoders read 0.05
  # off their 80-clip figures and in the wrong order (session 8).
  [[ -f gateset/index.json ]] || "$PY" "$NANO/world.py" --out gateset --count 80 --seed 600000 2>/dev/null
}

stage_model() {
  [[ -x "$MOVA" ]] || { echo "build mova first (cmake --build build --target mova)" >&2; exit 2; }
  if [[ ! -f model/model_index.json ]]; then
    if [[ -f "$ROOT/models/nano/model_index.json" ]]; then
      cp -r "$ROOT/models/nano" model && rm -f model/README.md
      echo "model: from models/nano"
    else
      "$MOVA" make-tiny model --preset nano --seed 0
      "$PY" "$NANO/train_tokenizer.py" --model model --data data
    fi
  fi
}

# Copies trained components (model/<name>/) into the bundled model (models/nano/<name>/).
stage_save() {
  [[ $# -gt 0 ]] || { echo "save: name the components (e.g. save video_vae audio_vae)" >&2; exit 2; }
  for c in "$@"; do
    [[ -n "$c" && -d "model/$c" && -f model/model_index.json ]] ||
      { echo "save: model/$c is not a component folder" >&2; exit 2; }
    rm -rf "$ROOT/models/nano/$c" && mkdir -p "$ROOT/models/nano" && cp -r "model/$c" "$ROOT/models/nano/$c"
    echo "saved $c to models/nano/$c ($(du -sh "$ROOT/models/nano/$c" | cut -f1))"
  done
}

stage_vae() {
  "$PY" "$NANO/train_vae.py" --model model --data data --which audio --steps "$AUDIO_VAE_STEPS" \
    --threads 1 --lr 5e-4 --batch 4 --export-every 500 >>audio_vae.log 2>&1 &
  local audio=$!
  "$PY" "$NANO/train_vae.py" --model model --data data --which video --steps "$VIDEO_VAE_STEPS" --crop 32 \
    --threads 1 --lr 1e-3 --batch 4 --export-every 200 --motion-weight 20 >>video_vae.log 2>&1
  wait "$audio"
}

stage_gate() {
  "$PY" "$NANO/vae_gate.py" --model model --data gateset --count 80 --which audio
  "$PY" "$NANO/vae_gate.py" --model model --data gateset --count 80 --which video
}

# Once, after the VAEs and before the denoiser's latents exist (they depend on it).
stage_normalize() {
  if [[ ! -f dac_normalized ]]; then
    "$PY" "$NANO/train_vae.py" --model model --data data --which audio --normalize-latents
    touch dac_normalized
  fi
}

# The denoiser trains on the frozen encoders' latents while the decoders keep improving.
stage_dit() {
  nice -n 5 "$PY" "$NANO/train_vae.py" --model model --data data --which video --decoder-only \
    --steps "$DECODER_STEPS" --crop 32 --threads 1 --lr 3e-4 --batch 4 --export-every 100 \
    --motion-weight 5 --windows 49 \
    >>video_decoder.log 2>&1 &
  local decoder=$!
  # The trainer calls the engine for each new caption's text context, for hours: a private
  # copy keeps it running when build/ is rebuilt meanwhile (a relink once killed a run).
  mkdir -p bin && cp "$MOVA" bin/mova
  "$PY" "$NANO/train_dit.py" --model model --data data --steps "$DIT_STEPS" --threads 1 \
    --mova "$WORK/bin/mova" >>dit.log 2>&1
  wait "$decoder"
}

stage_export() {
  rm -rf "$ROOT/models/nano.tmp"
  cp -r model "$ROOT/models/nano.tmp"
  [[ ! -f "$ROOT/models/nano/README.md" ]] || cp "$ROOT/models/nano/README.md" "$ROOT/models/nano.tmp/"
  "$MOVA" info "$ROOT/models/nano.tmp" >/dev/null
  rm -rf "$ROOT/models/nano"
  mv "$ROOT/models/nano.tmp" "$ROOT/models/nano"
  du -sh "$ROOT/models/nano"
}

stage_eval() {
  "$PY" "$NANO/eval_generated.py" --model "$ROOT/models/nano" --heldout heldout --out eval \
    --mova "$MOVA"
}

if [[ "${1:-}" == save ]]; then
  shift && stage_save "$@" && exit 0
fi
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(data model vae gate normalize dit export eval)
for s in "${stages[@]}"; do
  case "$s" in
    data | model | vae | gate | normalize | dit | export | eval) echo "== $s" && "stage_$s" ;;
    *) echo "unknown stage '$s' (data model vae gate normalize dit export eval; save NAME...)" >&2 && exit 2 ;;
  esac
done
