#!/usr/bin/env python3
"""`mova generate --device cuda` on the CUDA emulator against `--device cpu`, end to end.

The bundled nano model, one prompt and first frame, a short clip; the audio (float WAV) and
the frames (PNG) of each run are compared with the CPU's.
- `--precision f32`, where the CUDA backend matches the CPU to ~1e-5 relative: the audio must
  agree to 1e-4 of its peak and a frame pixel may differ by at most one 8-bit level (a value
  that lands next to a rounding boundary), in under 1 % of pixels. Once with everything on
  the device, once with the text encoder and the VAEs on the CPU and the denoiser's device
  weights capped far below its size (streamed weights).
- The default, `bf16` (GEMM and attention operands rounded to BF16; the DiTs' and the bridge's
  attention through cuDNN's fused SDPA, here the emulator's), once with the denoiser alone on
  the device and its weights streamed, and again with MOVA_CUDNN=0 (the backend's own
  tensor-core attention kernel): the error budget against the F32 CPU run is
  audio within 3e-2 of its peak with cosine similarity above 0.9995, frames within 1 level on
  average and 32 at most (measured with the tensor-core kernel: 9.0e-3, 0.99996; 0.24 and 10
  levels).

usage: test_generate_emulated.py MOVA MOVA_EMULATED
"""
import os
import pathlib
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
JOB = ["generate", "--image", str(ROOT / "docs/assets/nano_face_first_frame.png"),
       "--prompt", "A cartoon face with yellow skin says 'ba' three times.",
       "--frames", "5", "--steps", "1", "--seed", "7"]


def read_float_wav(path):
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", path
    pos = 12
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if tag == b"fmt ":
            assert struct.unpack("<H", data[pos + 8:pos + 10])[0] == 3, "not a float WAV"
        if tag == b"data":
            return np.frombuffer(data[pos + 8:pos + 8 + size], dtype="<f4")
        pos += 8 + size + (size & 1)
    raise AssertionError(f"{path}: no data chunk")


def run(binary, out, *extra, expect=(), env=None, log_check=None):
    out.mkdir()
    cmd = [binary, "--log-level", "info", *JOB, "--output", str(out / "clip.mp4"), "--save-wav", str(out / "a.wav"),
           "--save-frames", str(out / "frames"), *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}")
    for text in expect:  # the log shows where the work ran
        if text not in result.stderr:
            sys.exit(f"{' '.join(cmd)}: no '{text}' in its log:\n{result.stderr}")
    if log_check:
        complaint = log_check(result.stderr)
        if complaint:
            sys.exit(f"{' '.join(cmd)}: {complaint}:\n{result.stderr}")
    return read_float_wav(out / "a.wav"), sorted((out / "frames").glob("frame_*.png"))


def compare(name, cpu, gpu, bf16=False):
    cpu_audio, cpu_frames = cpu
    gpu_audio, gpu_frames = gpu
    failures = []
    if cpu_audio.shape != gpu_audio.shape:
        return [f"{name}: audio of {cpu_audio.shape} vs {gpu_audio.shape} samples"]
    audio_err = float(np.max(np.abs(cpu_audio - gpu_audio)) / np.max(np.abs(cpu_audio)))
    cosine = float(cpu_audio @ gpu_audio / np.linalg.norm(cpu_audio) / np.linalg.norm(gpu_audio))
    if not (audio_err <= 3e-2 and cosine > 0.9995 if bf16 else audio_err <= 1e-4):
        failures.append(f"{name}: audio error {audio_err:.3g} of peak, cosine {cosine:.6f}")
    if len(cpu_frames) != len(gpu_frames) or not cpu_frames:
        failures.append(f"{name}: {len(cpu_frames)} vs {len(gpu_frames)} frames")
    worst, differing, total, level_sum = 0, 0, 0, 0
    for a, b in zip(cpu_frames, gpu_frames):
        x = np.asarray(Image.open(a), dtype=np.int16)
        y = np.asarray(Image.open(b), dtype=np.int16)
        d = np.abs(x - y)
        worst, differing, total = max(worst, int(d.max())), differing + int((d > 0).sum()), total + d.size
        level_sum += int(d.sum())
    mean = level_sum / max(total, 1)
    if not (mean <= 1.0 and worst <= 32 if bf16 else worst <= 1 and differing <= 0.01 * total):
        failures.append(f"{name}: frames differ by {worst} levels at most, {mean:.3g} on "
                        f"average, in {differing}/{total} values")
    print(f"[ measure  ] {name}: audio max error {audio_err:.3g} of peak, cosine {cosine:.6f}; "
          f"frames max {worst} level(s), mean {mean:.3g}, {differing}/{total} values differ")
    return failures


def prefetched(log):
    """The streamed run's weight report: some uploads began ahead of their use."""
    found = re.search(r"(\d+) begun ahead of their use", log)
    if not found:
        return "no weight prefetch report in the log"
    return None if int(found.group(1)) > 0 else "no weight was uploaded ahead of its use"


def prefetched_and_gpu_peaks(log):
    """prefetched(), and the stage table's GPU column: the denoiser's peak on the device, none
    for the text encoder and the VAEs placed on the CPU."""
    complaint = prefetched(log)
    if complaint:
        return complaint
    if "GPU peak" not in log:
        return "no GPU peak column in the stage table"
    rows = {line.split()[0]: line.split()[1:] for line in log.splitlines()
            if line.split() and line.split()[0] in ("text", "denoise", "video-decode")}
    if rows.get("text", [""])[-1] != "-" or rows.get("video-decode", [""])[-1] != "-":
        return "a stage on the CPU shows a GPU peak"
    if len(rows.get("denoise", [])) < 3 or not rows["denoise"][-1].endswith("B"):
        return "the denoise stage shows no GPU peak"
    return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mova, emulated = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        cpu = run(mova, tmp / "cpu", "--device", "cpu")
        gpu = "cuda:0: mova.cpp CUDA emulator"
        failures = compare("--device cuda --precision f32", cpu,
                           run(emulated, tmp / "cuda", "--device", "cuda", "--precision", "f32",
                               expect=[gpu, "F32 path", "budget none"]))
        # A 1 MiB cap (0.0001 GiB rounds up to it) on a denoiser of several MiB: every pass
        # uploads its weights again, from the second pass of an expert on ahead of their use
        # (through the copy stream and its pinned staging).
        failures += compare(
            "--device cuda --precision f32 --text-device cpu --vae-device cpu "
            "--device-weights-gib 0.0001", cpu,
            run(emulated, tmp / "split", "--device", "cuda", "--precision", "f32",
                "--text-device", "cpu", "--vae-device", "cpu", "--device-weights-gib", "0.0001",
                expect=[gpu, "F32 path", "budget 1 MiB"], log_check=prefetched))
        # The same placement and budget on the BF16 path (its BF16 hand-offs never leave the
        # device; streamed weights prefetched the same way).
        failures += compare(
            "--device cuda --text-device cpu --vae-device cpu --device-weights-gib 0.0001 (bf16)",
            cpu,
            run(emulated, tmp / "split_bf16", "--device", "cuda", "--text-device", "cpu",
                "--vae-device", "cpu", "--device-weights-gib", "0.0001",
                expect=[gpu, "BF16 path", "budget 1 MiB"], log_check=prefetched_and_gpu_peaks),
            bf16=True)
        failures += compare("--device cuda (bf16, cuDNN attention)", cpu,
                            run(emulated, tmp / "bf16", "--device", "cuda",
                                expect=[gpu, "BF16 path", "BF16 attention through the fused SDPA of cuDNN"]),
                            bf16=True)
        failures += compare("--device cuda (bf16, MOVA_CUDNN=0: tensor-core kernel)", cpu,
                            run(emulated, tmp / "bf16_own", "--device", "cuda",
                                expect=[gpu, "BF16 path", "none (MOVA_CUDNN=0)"],
                                env={"MOVA_CUDNN": "0"}), bf16=True)
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
