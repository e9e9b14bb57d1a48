#!/usr/bin/python3
"""The VAE gate of the nano training plan: puts each clip's audio (DAC) and/or frames (video
VAE) through encode -> decode of a trained nano checkpoint and measures sync on the result
with the meter, so a VAE that loses onsets or blurs away events fails before the denoiser is
trained on its latents.

  vae_gate.py --model DIR --data DIR [--which audio|video|both] [--count 20] [--json]

Writes the reconstructed clips as npz into DIR/../vae_gate_<which>/ and prints eval_sync's
summary for them (the bar: median |offset| <= 42 ms, recall >= 0.9).

With the video VAE it also reports, per kind, how far the reconstruction is from the truth on
the moving objects' pixels (object_error): the meter alone is not enough, since it finds
contacts in a smudge that moves about right; in session 11 the bundled VAE drew small balls as
blobs of the wrong colour (on the 80-clip gate set ball pixels off by 43.5 of 255 levels after
frame 0, the background by 6) while the meter read ball recall 0.83.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import dac_reference  # noqa: E402
import safetensors_np  # noqa: E402
import wan_vae_reference  # noqa: E402
import eval_sync  # noqa: E402
from train_vae import build, motion_weights  # noqa: E402

dac_reference.F = torch.float32
wan_vae_reference.F = torch.float32


def object_error(truth, recon):
    """Mean |recon − truth| in 0–255 levels (over RGB) of two clips' frames [T, H, W, 3] on
    the moving objects' pixels (those train_vae's motion loss weights: where the truth differs
    from its median over the clip) in frame 0 and in frames 1.., and on the other pixels of
    frames 1.. (the static background). None where a part has no pixels."""
    x = torch.from_numpy(truth.astype(np.float32) / 127.5 - 1).permute(3, 0, 1, 2)[None]
    moving = (motion_weights(x, 1.0)[0, 0] > 1).numpy()
    err = np.abs(recon.astype(np.float32) - truth.astype(np.float32)).mean(-1)

    def mean(mask):
        return round(float(err[mask].mean()), 2) if mask.any() else None

    later = np.zeros_like(moving)
    later[1:] = True
    return {"object_frame0": mean(moving & ~later), "object_later": mean(moving & later),
            "background_later": mean(~moving & later)}


def summarize_object_errors(per_clip):
    """{kind: mean of each object_error field over that kind's clips}."""
    out = {}
    for kind in sorted({k for k, _ in per_clip}):
        rows = [e for k, e in per_clip if k == kind]
        out[kind] = {f: round(float(np.mean([r[f] for r in rows if r[f] is not None])), 2)
                     if any(r[f] is not None for r in rows) else None for f in rows[0]}
    return out


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
    errors = []
    for p in sorted(glob.glob(os.path.join(a.data, "clip_*.npz")))[: a.count]:
        z = dict(np.load(p))
        with torch.no_grad():
            if dac is not None:
                x = torch.from_numpy(z["audio"].astype(np.float32)).reshape(1, 1, -1)
                z["audio"] = dac.decode(dac.encode(x))[0, 0, : x.shape[-1]].numpy()
            if vae is not None:
                v = torch.from_numpy(z["frames"].astype(np.float32) / 127.5 - 1)
                y = vae.decode(vae.encode(v.permute(3, 0, 1, 2)[None]))[0].permute(1, 2, 3, 0)
                recon = ((y.numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
                errors.append((str(z.get("kind", "")), object_error(z["frames"], recon)))
                z["frames"] = recon
        np.savez(os.path.join(out, os.path.basename(p)), **z)
    summary, _ = eval_sync.evaluate(out)
    if errors:
        summary["object_error"] = summarize_object_errors(errors)
    if a.json:
        print(json.dumps(summary, indent=1))
    else:
        eval_sync.print_summary(summary)
        for kind, e in summary.get("object_error", {}).items():
            print(f"  {kind:5s} object pixels |error| frame 0 {e['object_frame0']}, frames 1.. "
                  f"{e['object_later']}, background {e['background_later']} (0-255 levels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
