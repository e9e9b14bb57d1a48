#!/usr/bin/env python3
"""`mova generate --device cuda` on the CUDA emulator against `--device cpu`, end to end.

The bundled nano model, one prompt and first frame, a short clip; the audio (float WAV) and
the frames (PNG) of each run are compared with the CPU's. Both runs take the F32 path, where
the CUDA backend matches the CPU to ~1e-5 relative, so the audio must agree to 1e-4 of its
peak and a frame pixel may differ by at most one 8-bit level (a value that lands next to a
rounding boundary), in under 1 % of pixels. A second emulated run puts the text encoder on
the CPU and the VAEs on the CPU, and caps the denoiser's device weights far below its size
(streamed weights).

usage: test_generate_emulated.py MOVA MOVA_EMULATED
"""
import pathlib
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


def run(binary, out, *extra, expect=()):
    out.mkdir()
    cmd = [binary, "--log-level", "info", *JOB, "--output", str(out / "clip.mp4"), "--save-wav", str(out / "a.wav"),
           "--save-frames", str(out / "frames"), *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}")
    for text in expect:  # the log shows where the work ran
        if text not in result.stderr:
            sys.exit(f"{' '.join(cmd)}: no '{text}' in its log:\n{result.stderr}")
    return read_float_wav(out / "a.wav"), sorted((out / "frames").glob("frame_*.png"))


def compare(name, cpu, gpu):
    cpu_audio, cpu_frames = cpu
    gpu_audio, gpu_frames = gpu
    failures = []
    audio_err = float(np.max(np.abs(cpu_audio - gpu_audio)) / np.max(np.abs(cpu_audio)))
    if cpu_audio.shape != gpu_audio.shape or not audio_err <= 1e-4:
        failures.append(f"audio: {cpu_audio.shape} vs {gpu_audio.shape}, error {audio_err:.3g}")
    if len(cpu_frames) != len(gpu_frames) or not cpu_frames:
        failures.append(f"frames: {len(cpu_frames)} vs {len(gpu_frames)}")
    worst, differing, total = 0, 0, 0
    for a, b in zip(cpu_frames, gpu_frames):
        x = np.asarray(Image.open(a), dtype=np.int16)
        y = np.asarray(Image.open(b), dtype=np.int16)
        d = np.abs(x - y)
        worst, differing, total = max(worst, int(d.max())), differing + int((d > 0).sum()), total + d.size
    if worst > 1 or differing > 0.01 * total:
        failures.append(f"frames: max difference {worst} levels, {differing}/{total} values differ")
    print(f"[ measure  ] {name}: audio max error {audio_err:.3g} of peak; frames max "
          f"{worst} level(s), {differing}/{total} values differ")
    return failures


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mova, emulated = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        cpu = run(mova, tmp / "cpu", "--device", "cpu")
        gpu = "cuda:0: mova.cpp CUDA emulator"
        failures = compare("--device cuda", cpu, run(emulated, tmp / "cuda", "--device", "cuda",
                                                     expect=[gpu, "budget none"]))
        # A 1 MiB cap (0.0001 GiB rounds up to it) on a denoiser of several MiB: every pass
        # uploads its weights again.
        failures += compare(
            "--device cuda --text-device cpu --vae-device cpu --device-weights-gib 0.0001", cpu,
            run(emulated, tmp / "split", "--device", "cuda", "--text-device", "cpu",
                "--vae-device", "cpu", "--device-weights-gib", "0.0001",
                expect=[gpu, "budget 1 MiB"]))
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main()
