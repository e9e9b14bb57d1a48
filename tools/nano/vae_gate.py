#!/usr/bin/python3
"""The VAE gate of the nano training plan: puts each clip's audio (DAC) and/or frames (video
VAE) through encode -> decode of a trained nano checkpoint and measures sync on the result
with the meter, so a VAE that loses onsets or blurs away events fails before the denoiser is
trained on its latents.

  vae_gate.py --model DIR --data DIR [--which audio|video|both] [--count 20] [--json]

Writes the reconstructed clips as npz into DIR/../vae_gate_<which>/ and prints eval_sync's
summary for them (the bar: median |offset| <= 42 ms, recall >= 0.9).
"""
import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import dac_reference  # noqa: E402
import safetensors_np  # noqa: E402
import wan_vae_reference  # noqa: E402
from train_vae import build  # noqa: E402

dac_reference.F = torch.float32
wan_vae_reference.F = torch.float32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--which", choices=["audio", "video", "both"], default="both")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    load = lambda c: safetensors_np.load_component(a.model, c, lambda v: torch.from_numpy(v).float())  # noqa: E731
    dac = build(dac_reference.Dac, *load("audio_vae")) if a.which != "video" else None
    vae = build(wan_vae_reference.WanVae, *load("video_vae")) if a.which != "audio" else None
    out = os.path.join(os.path.dirname(os.path.abspath(a.model)), "vae_gate_" + a.which)
    os.makedirs(out, exist_ok=True)
    for p in sorted(glob.glob(os.path.join(a.data, "clip_*.npz")))[: a.count]:
        z = dict(np.load(p))
        with torch.no_grad():
            if dac is not None:
                x = torch.from_numpy(z["audio"].astype(np.float32)).reshape(1, 1, -1)
                z["audio"] = dac.decode(dac.encode(x))[0, 0, : x.shape[-1]].numpy()
            if vae is not None:
                v = torch.from_numpy(z["frames"].astype(np.float32) / 127.5 - 1)
                y = vae.decode(vae.encode(v.permute(3, 0, 1, 2)[None]))[0].permute(1, 2, 3, 0)
                z["frames"] = ((y.numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        np.savez(os.path.join(out, os.path.basename(p)), **z)
    cmd = [sys.executable, os.path.join(HERE, "eval_sync.py"), out] + (["--json"] if a.json else [])
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main()
