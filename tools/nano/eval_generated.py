#!/usr/bin/python3
"""Acceptance run of the nano model (issue #8): for every held-out world.py clip, `mova
generate` a clip from its caption and first frame, then measure sync with the meter.

  eval_generated.py --model DIR --heldout DIR --out DIR [--mova BIN] [--seed 1] [--cfg G]
                    [--steps N] [--rng R] [--json]

Prints three rows, all measured in this run:
  ceiling    the held-out clips themselves (the world's own sync, what the meter can reach)
  generated  the engine's clips (the bar: median |offset| <= 42 ms, mean recall >= 0.9)
  control    the generated clips with their audio delayed 200 ms (the meter must fail it)
The generated MP4s and an index.json (kinds, for the meter's detectors) stay in --out.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import eval_sync  # noqa: E402


def generate(a, clips):
    os.makedirs(a.out, exist_ok=True)
    index = []
    t0 = time.time()
    for i, path in enumerate(clips):
        name = os.path.splitext(os.path.basename(path))[0]
        z = np.load(path)
        kind, caption = str(z["kind"]), str(z["caption"])
        index.append({"name": name, "kind": kind, "caption": caption})
        image = os.path.join(a.out, name + "_first.png")
        Image.fromarray(z["frames"][0]).save(image)
        cmd = [a.mova, "-q", "generate", "--model", a.model, "--prompt", caption,
               "--image", image, "--seed", str(a.seed + i),
               "--output", os.path.join(a.out, name + ".mp4")]
        cmd += ["--cfg", str(a.cfg)] if a.cfg is not None else []
        cmd += ["--rng", a.rng] if a.rng else []
        cmd += ["--steps", str(a.steps)] if a.steps else []
        subprocess.run(cmd, check=True)
        print(f"[{i + 1}/{len(clips)}] {name} {kind}: {caption}", file=sys.stderr)
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump({"clips": index}, f, indent=1)
    return time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--heldout", required=True, help="world.py output (clip_*.npz)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mova", default=os.path.join(HERE, "..", "..", "build", "bin", "mova"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cfg", type=float, help="guidance scale (default: the model's)")
    ap.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    ap.add_argument("--rng", help="mova generate's --rng (default: its default, torch-cuda; "
                    "the figures of sessions 13-18 were measured with 'mova')")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    clips = sorted(glob.glob(os.path.join(a.heldout, "clip_*.npz")))
    if not clips:
        raise SystemExit(f"{a.heldout}: no clip_*.npz (run world.py --out {a.heldout})")
    seconds = generate(a, clips)
    rows = {
        "ceiling": eval_sync.evaluate(a.heldout, 0.0, "npz")[0],
        "generated": eval_sync.evaluate(a.out, 0.0, "mp4")[0],
        "control": eval_sync.evaluate(a.out, 200.0, "mp4")[0],
    }
    rows["generate_seconds_per_clip"] = round(seconds / len(clips), 2)
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{len(clips)} held-out prompts, {rows['generate_seconds_per_clip']} s per clip")
    for name in ("ceiling", "generated", "control"):
        s = rows[name]
        print(f"  {name:9s} median |offset| {s['median_abs_offset_ms']} ms, recall "
              f"{s['mean_recall']:.3f}, precision {s['mean_precision']:.3f}, "
              f"unmatched clips {s['clips_without_match']}: {'PASS' if s['pass'] else 'FAIL'}")
        for kind in ("ball", "drum", "face", "light"):
            if kind in s:
                k = s[kind]
                print(f"      {kind:5s} {k['clips']} clips: median |offset| "
                      f"{k['median_abs_offset_ms']} ms, recall {k['mean_recall']:.3f}")


if __name__ == "__main__":
    main()
