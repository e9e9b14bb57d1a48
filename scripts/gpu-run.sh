#!/usr/bin/env bash
# On a GPU machine, runs what scripts/gpu-bundle.sh packed into .gpu/bundle.tar.gz (unpacked
# into $MOVA_GPU_BIN, default /tmp/mova-gpu, outside the tree the device tool carries back):
#   scripts/gpu-run.sh tests [FILTER]   the CUDA parity tests (default filter Cuda*:Cudnn*)
#   scripts/gpu-run.sh bench [CONFIG]   bench_cuda_dit_block, then bench/torch_wan_block.py on the
#                                       same GPU, and the ratios (CONFIG: video360|video720|audio|
#                                       bridge|bridge720|all; `all` adds the composed 360p CFG step).
#                                       Attention as the backend runs it (cuDNN's fused SDPA where
#                                       it applies), then the video360 block again with mova's own
#                                       kernel (--attention mova)
#   scripts/gpu-run.sh step             bench_joint_step: one CFG step through the models at the
#                                       published widths (1 layer per tower, 360p tokens), BF16
#                                       and F32 paths, BF16 in whole passes (no token chunks:
#                                       what chunking costs), BF16 at 720p tokens (its device peak),
#                                       then BF16 with a 512 MiB weight budget (streamed), timed
#                                       with and without weight prefetch
#   scripts/gpu-run.sh models           the VAEs at their published sizes, bf16: the 193-frame
#                                       video decode at 360p, its first 33 frames at 720p (the rest
#                                       extrapolated), 8 s of audio; device peaks beside (the
#                                       checkpoint, 1 GB, is written to /tmp once)
#   scripts/gpu-run.sh text             the text encoder (UMT5-XXL, one 512-token prompt), bf16;
#                                       not in the lease: its random 11 GB checkpoint takes
#                                       minutes to write
#   scripts/gpu-run.sh sanitize [TOOL [FILTER]]
#                                       the parity tests under compute-sanitizer (TOOL memcheck,
#                                       racecheck, initcheck or synccheck; default memcheck, filter
#                                       Cuda*:Cudnn*-CudaBackend.*: kernels and ops, not whole
#                                       models, and not the out-of-memory test; without Cudnn*
#                                       for racecheck and synccheck, which misread cuDNN's
#                                       Hopper kernels).
#                                       Works on Firecracker machines, not on gVisor ones
#   scripts/gpu-run.sh profile [KERNEL]  Nsight Compute's account of one launch of a mova kernel
#                                       (default attention_tc_kernel, mova's own attention) in
#                                       the video360 block: throughput, occupancy, stalls.
#                                       Firecracker machines only (gVisor has no counters)
#   scripts/gpu-run.sh kernels PROGRAM [ARGS...]
#                                       GPU time per kernel name over one run of a bundled
#                                       program (Nsight Compute, one timing metric per launch),
#                                       the largest totals first: where a program's GPU time goes
#                                       (e.g. kernels bench_vae --model DIR --device cuda ...)
#   scripts/gpu-run.sh lease [SECONDS]  for one device-tool call (a session has 15 minutes of
#                                       device time, each machine start included): tests, bench
#                                       all, step, models, then sanitize, each stopped at its
#                                       share of SECONDS (default 480: 15, 25, 25, 25 and 10 %,
#                                       plus what the parts before it left unused; on an H200 they
#                                       took ≈ 12, 13, 93, 40 and 3 s), so the call ends inside
#                                       the tool's 10 minutes; each part's whole log and a
#                                       summary go to $OUT (else /tmp/mova-gpu-logs)
#   scripts/gpu-run.sh                  tests, bench `all`, then step
# Finds libcublasLt.so.13 wherever that machine's CUDA or PyTorch installation keeps it, and
# cuDNN 9 (libcudnn.so.9, loaded at run time): PyTorch's (its wheel's matches its CUDA), else the
# system's.
set -euo pipefail
self=$(readlink -f "$0")  # the lease runs its parts through it, after the cd below
cd "$(dirname "$self")/.."
bin=${MOVA_GPU_BIN:-/tmp/mova-gpu}
# -m dates the files now, so a newer bundle is unpacked again.
if [[ -f .gpu/bundle.tar.gz && (! -x $bin/mova_cuda_tests || .gpu/bundle.tar.gz -nt $bin/mova_cuda_tests) ]]; then
  mkdir -p "$bin" && tar -xzmf .gpu/bundle.tar.gz -C "$bin"
fi
[[ -x $bin/mova_cuda_tests ]] || { echo "no .gpu/bundle.tar.gz: run scripts/gpu-bundle.sh first" >&2; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
if ! ldconfig -p 2>/dev/null | grep -q libcublasLt.so.13; then
  lib=$(find /usr/local /opt /usr/lib -name 'libcublasLt.so.13*' 2>/dev/null | head -n 1)
  [[ -n "$lib" ]] || { echo "libcublasLt.so.13 not found on this machine" >&2; exit 2; }
  lib_dir=$(dirname "$lib")
  export LD_LIBRARY_PATH="$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# PyTorch's own cuDNN first, wherever its environment lives, even beside a system one (which may
# predate 9.13.1, the fused attention's floor); else the system's, else one found on disk.
lib=$(python3 -c 'import nvidia.cudnn as c, os; print(os.path.join(list(c.__path__)[0], "lib", "libcudnn.so.9"))' 2>/dev/null || true)
[[ -f "$lib" ]] || lib=
if [[ -z "$lib" ]] && ! ldconfig -p 2>/dev/null | grep -q libcudnn.so.9; then
  lib=$(find /usr/local /opt /usr/lib -name 'libcudnn.so.9' -print -quit 2>/dev/null || true)
  [[ -n "$lib" ]] || echo "libcudnn.so.9 not found: attention runs on mova's own kernels" >&2
fi
if [[ -n "$lib" ]]; then
  echo "cuDNN: $lib"
  # Beside it, in a wheel's nvidia/ folder, the NVRTC its run-time-compiled engines need.
  dirs=$(dirname "$lib")
  nvidia=$(dirname "$(dirname "$(dirname "$lib")")")
  if [[ "$(basename "$nvidia")" == nvidia ]]; then
    for d in "$nvidia"/*/lib; do
      if [[ -d "$d" && "$d" != "$(dirname "$lib")" ]]; then dirs="$dirs:$d"; fi
    done
  fi
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dirs"
  export MOVA_CUDNN="$lib"  # this file, not another the loader would find first
fi

run_tests() {
  # Upstream's noise from PyTorch on this GPU, where PyTorch is installed, for
  # CudaTorchRandn.HostNoiseMatchesPyTorch (skipped without it).
  if python3 bench/torch_randn.py /tmp/mova_torch_randn.bin 2>/dev/null; then
    export MOVA_TORCH_RANDN=/tmp/mova_torch_randn.bin
  fi
  "$bin"/mova_cuda_tests --gtest_filter="${1:-Cuda*:Cudnn*}" --gtest_color=no
}

run_sanitize() {
  # Not the out-of-memory test: the sanitizer counts its refused cudaMalloc, which the test
  # provokes on purpose, as an error. racecheck and synccheck leave cuDNN out too: on an H200
  # racecheck flagged hazards inside cuDNN's own wgmma SDPA kernels, and synccheck overflowed its
  # barrier tracking there and failed the launch, which broke every later test of the process.
  local tool="${1:-memcheck}" filter=${2:-}
  if [[ -z "$filter" ]]; then
    filter="Cuda*:Cudnn*-CudaBackend.*:CudaDeviceMemory.OutOfMemoryNamesTheDevice"
    if [[ "$tool" == racecheck || "$tool" == synccheck ]]; then filter="${filter/:Cudnn\*/}"; fi
  fi
  command -v compute-sanitizer >/dev/null || { echo "compute-sanitizer not on PATH" >&2; return 2; }
  compute-sanitizer --tool "$tool" --error-exitcode 9 "$bin"/mova_cuda_tests \
    --gtest_filter="$filter" --gtest_color=no
}

# Nsight Compute: on the PATH, else where the CUDA image installs it.
find_ncu() {
  ncu=$(command -v ncu || find /opt/nvidia /usr/local -name ncu -type f 2>/dev/null | head -n 1)
  [[ -n "$ncu" ]] || { echo "ncu (Nsight Compute) not found" >&2; return 2; }
}

run_profile() {
  local ncu
  find_ncu || return
  # The clocks as the GPU sets them, not locked to base (what the benchmarks ran at).
  "$ncu" --clock-control none --kernel-name "regex:${1:-attention_tc_kernel}" --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
    "$bin"/bench_cuda_dit_block --config video360 --attention mova --iters 1
}

run_kernels() {
  local ncu program=$1 csv=${OUT:-/tmp}/kernels.csv
  shift
  find_ncu || return
  # One row per launch (the details page); the whole CSV stays in $OUT.
  "$ncu" --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
    "$bin/$program" "$@" >"$csv"
  python3 - "$csv" <<'PY'
import collections, csv, sys
scale = {"nsecond": 1e-9, "ns": 1e-9, "usecond": 1e-6, "us": 1e-6, "msecond": 1e-3, "ms": 1e-3,
         "second": 1.0, "s": 1.0}
lines = [l for l in open(sys.argv[1], errors="replace") if l.startswith('"')]
by_name, launches = collections.defaultdict(lambda: [0.0, 0]), 0
for r in csv.DictReader(lines):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    t = float(r["Metric Value"].replace(",", "")) * scale.get(r["Metric Unit"], 1.0)
    by_name[r["Kernel Name"]][0] += t
    by_name[r["Kernel Name"]][1] += 1
    launches += 1
if not launches:
    print("no gpu__time_duration rows; the CSV's first lines:", *lines[:3], sep="\n")
    sys.exit(1)
total = sum(t for t, _ in by_name.values())
print(f"GPU time in kernels: {total:.3f} s over {launches} launches")
for name, (t, n) in sorted(by_name.items(), key=lambda kv: -kv[1][0])[:25]:
    print(f"{t:9.3f} s {100 * t / total:5.1f} % {n:7d}x  {name[:110]}")
PY
}

run_bench() {
  local config="${1:-all}"
  # One run (GPU time is scarce): the JSON carries every figure the table shows.
  "$bin"/bench_cuda_dit_block --config "$config" --json >/tmp/mova_bench.jsonl
  if [[ "$config" == all || "$config" == video360 ]]; then
    "$bin"/bench_cuda_dit_block --config video360 --attention mova --json
  fi
  python3 bench/torch_wan_block.py --config "$config" >/tmp/torch_bench.jsonl
  python3 - <<'PY'
import json
ours = {r["config"]: r for r in map(json.loads, open("/tmp/mova_bench.jsonl"))}
for o in ours.values():
    print(json.dumps(o))
for t in map(json.loads, open("/tmp/torch_bench.jsonl")):
    print(json.dumps(t))
    o = ours.get(t["config"])
    if not o:
        continue
    line = (f'{t["config"]}: mova {o["block_ms"]:.2f} ms, PyTorch {t["block_ms"]:.2f} ms: '
            f'speed ratio {t["block_ms"] / o["block_ms"]:.2f}x')
    if "device_gib" in o:
        line += f'; device memory mova {o["device_gib"]} GiB, PyTorch {t.get("device_gib")} GiB'
    if "self_attention_ms" in t:
        line += (f'; self-attention alone: mova ({o.get("attention")}) '
                 f'{o.get("self-attention_ms", 0):.2f} ms, SDPA {t["self_attention_ms"]:.2f} ms')
    if "composed" in o:
        line += f' (composed: {o["composed"]})'
    print(line + f' [torch {t.get("torch")}, {t.get("gpu")}]' if "torch" in t else line)
PY
}

# Runs one bench_joint_step with ARGS, and where nvidia-smi answers, the most memory the GPU had
# in use while it ran (sampled every 200 ms): the CUDA context and the libraries' own memory
# on top of the peak the bench reports from mova's pools.
joint_step() {
  local samples=/tmp/mova_smi_$$.txt smi="" rc=0
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$samples" 2>/dev/null &
    smi=$!
  fi
  "$bin"/bench_joint_step --preset published-layer --model /tmp/mova-published-layer --device cuda \
    --frames 49 --audio 402 "$@" || rc=$?
  if [[ -n "$smi" ]]; then
    kill "$smi" 2>/dev/null || true
    wait "$smi" 2>/dev/null || true
    echo "nvidia-smi: at most $(sort -n "$samples" | tail -n 1) MiB in use on the GPU during: $*"
    rm -f "$samples"
  fi
  return "$rc"
}

run_step() {
  # The 2.5 GB checkpoint is written once (the first run) and reused by the others.
  for precision in bf16 f32; do
    joint_step --precision "$precision" --height 44 --width 80
  done
  # What chunking the blocks over tokens costs in time at 360p: the same step in whole passes.
  joint_step --precision bf16 --height 44 --width 80 --chunk-tokens 0
  # 720p: its device peak against the emulator's memory-only figure (9,458.2 MiB with this
  # checkpoint, docs/cuda.md "Next" 4).
  joint_step --precision bf16 --height 90 --width 160
  # Streamed weights (a 24 GB card's case): a budget below the layer's weights, the step timed
  # with the prefetch on a copy stream and with each upload at its use.
  joint_step --precision bf16 --height 44 --width 80 --device-weights-mib 512
}

run_models() {
  "$bin"/bench_vae --model /tmp/mova-published-vaes --preset published-vaes --device cuda \
    --latent-frames 49
  "$bin"/bench_vae --model /tmp/mova-published-vaes --device cuda --latent-frames 9 --height 704 \
    --width 1280 --skip-audio
}

run_text() {
  "$bin"/bench_text_encoder --model /tmp/mova-published-text --preset published-text --device cuda
}

# Runs "gpu-run.sh PART..." as one part of a lease, stopped at its SHARE (percent) of the lease's
# seconds plus what earlier parts left unused, its whole log in $lease_dir and its end on stdout
# (the device tool returns the last 12,000 characters of stdout; the files come back whole).
lease_part() {
  local name=$1 share=$2 rc=0 began=$SECONDS
  shift 2
  lease_allotted=$((lease_allotted + lease_total * share / 100))
  local cap=$((lease_allotted - (SECONDS - lease_start)))
  if ((cap < 20)); then
    echo "== $name: skipped, ${cap} s of its share left" | tee -a "$lease_dir/summary.txt"
    return
  fi
  timeout -k 10 "$cap" "$self" "$@" >"$lease_dir/$name.log" 2>&1 || rc=$?
  local verdict="rc $rc"
  ((rc != 124 && rc != 137)) || verdict="stopped at its ${cap} s"
  echo "== $name: $verdict after $((SECONDS - began)) s" | tee -a "$lease_dir/summary.txt"
  if ((rc == 0)); then
    grep -E '^\[  (FAILED|PASSED) |ratio|"config"|peak|cuDNN|nvidia-smi:' "$lease_dir/$name.log" | tail -n 40 || true
  else
    lease_failed=1
    grep -E '^\[  FAILED ' "$lease_dir/$name.log" | head -n 30 || true
    tail -n 15 "$lease_dir/$name.log"
  fi
}

run_lease() {
  lease_total=${1:-480}
  [[ "$lease_total" =~ ^[0-9]+$ ]] || { echo "lease: SECONDS must be a whole number, not '$lease_total'" >&2; return 2; }
  lease_start=$SECONDS
  lease_allotted=0
  lease_failed=0
  lease_dir=${OUT:-/tmp/mova-gpu-logs}
  mkdir -p "$lease_dir"
  : >"$lease_dir/summary.txt"
  # Parity first (nothing else means much if it fails), then the speed figures, then the
  # memory checker, which is slow and only adds to what the parity tests already showed.
  # cuDNN's own account of anything it refuses (what is missing, which constraint a shape
  # broke) goes to the tests' log beside mova's.
  CUDNN_LOGLEVEL_DBG=1 CUDNN_LOGDEST_DBG=stderr lease_part tests 15 tests
  lease_part bench 25 bench all
  lease_part step 25 step
  lease_part models 25 models
  lease_part sanitize 10 sanitize
  cat "$lease_dir/summary.txt"
  return "$lease_failed"
}

case "${1:-}" in
  tests) shift && run_tests "$@" ;;
  bench) shift && run_bench "$@" ;;
  step) run_step ;;
  models) run_models ;;
  text) run_text ;;
  sanitize) shift && run_sanitize "$@" ;;
  profile) shift && run_profile "$@" ;;
  kernels) shift && run_kernels "$@" ;;
  lease) shift && run_lease "$@" ;;
  "") run_tests && run_bench all && run_step ;;
  *) echo "usage: scripts/gpu-run.sh [tests [FILTER] | bench [CONFIG] | step | models | text | sanitize [TOOL [FILTER]] | profile [KERNEL] | kernels PROGRAM [ARGS...] | lease [SECONDS]]" >&2 && exit 2 ;;
esac
