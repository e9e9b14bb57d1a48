#!/usr/bin/env python3
"""The emulator's memory-only mode (MOVA_CUDA_EMULATOR_MEMORY_ONLY=1) measures what a run with
its arithmetic measures: bench_joint_step's device peak and weight traffic for one CFG step on
the tiny checkpoint must be the same with and without the mode, and the memory-only run must
compute nothing (no GEMM time is possible to check there, so it must simply finish).

Usage: test_memory_only.py BENCH_JOINT_STEP_EMULATED
"""
import os
import re
import subprocess
import sys

ARGS = ["--preset", "tiny", "--device", "cuda", "--precision", "bf16", "--frames", "3",
        "--height", "16", "--width", "16", "--audio", "16"]


def memory_lines(bench, memory_only):
    env = dict(os.environ)
    env.pop("MOVA_CUDA_EMULATOR_MEMORY_ONLY", None)
    if memory_only:
        env["MOVA_CUDA_EMULATOR_MEMORY_ONLY"] = "1"
    result = subprocess.run([bench, *ARGS], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0 or "emulator:" in result.stderr:
        sys.exit(f"{bench} (memory only: {memory_only}) failed:\n{result.stdout}\n{result.stderr}")
    lines = [l.strip() for l in result.stdout.splitlines()
             if re.match(r"\s*(device peak|weights)\s", l)]
    if len(lines) != 2:
        sys.exit(f"no device peak and weights lines in:\n{result.stdout}")
    return lines


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    computed = memory_lines(sys.argv[1], False)
    counted = memory_lines(sys.argv[1], True)
    for line in counted:
        print(f"[ measure  ] memory only: {line}")
    if computed != counted:
        sys.exit(f"memory-only run differs from the computed one:\n{computed}\n{counted}")


if __name__ == "__main__":
    main()
