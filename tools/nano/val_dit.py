#!/usr/bin/python3
"""The nano denoiser's loss on clips it did not train on, by kind and noise level: a cheap,
deterministic check between the generated-clip evaluations (eval_generated.py), which cost
minutes and move ±0.07 in recall from one sampling seed set to the next.

  val_dit.py --model DIR --data DIR [--count N] [--latents FILE] [--sigmas 0.2,0.5,0.8,1]
             [--mova BIN] [--json]

Each clip is noised to each sigma with noise fixed by (clip, sigma), so two checkpoints see
the same inputs; caption and first-frame condition are kept (the conditional branch that
`mova generate` guides). Reported per kind and sigma: the video velocity MSE over the whole
latent grid, over its moving cells only (train_dit.latent_motion_weights' mark: the
background is most of the grid and easy), and the audio velocity MSE. Run it on a few
training clips too: the gap is the overfitting.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sync_meter  # noqa: E402
import train_dit  # noqa: E402


def clip_losses(m, lat, clips, i, ctx, sigmas, boundary):
    """{sigma: (video MSE, moving-cell video MSE, audio MSE)} for clip i."""
    z, cond, za, _ = lat.get(i)
    moving = train_dit.latent_motion_weights(clips.get(i)[0], 1.0, z.shape[2:]) - 1.0
    ctx = train_dit.set_context(m, ctx)
    out = {}
    for s in sigmas:
        g = torch.Generator().manual_seed(1000003 * i + int(round(1000 * s)))
        nv = torch.randn(z.shape, generator=g)
        na = torch.randn(za.shape, generator=g)
        t = 1000.0 * s
        xv, xa = (1 - s) * z + s * nv, (1 - s) * za + s * na
        vv, va = m.step(1 if t >= boundary else 2, xv, cond, xa, ctx, t, t, 24.0)
        err = vv - (nv - z)
        # weighted_mse under the 0/1 mark: the moving cells' mean (NaN when nothing moves)
        out[s] = (float((err ** 2).mean()), float(train_dit.weighted_mse(err, moving)),
                  float(((va - (na - za)) ** 2).mean()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="world.py output (clip_*.npz)")
    ap.add_argument("--count", type=int, default=0, help="the first N clips (0: all)")
    ap.add_argument("--latents", help="latent cache (default DATA/val_latents.pt; delete it "
                                      "when the VAE encoders change)")
    ap.add_argument("--sigmas", default="0.2,0.5,0.8,1.0")
    ap.add_argument("--mova", default=os.path.join(HERE, "..", "..", "build", "bin", "mova"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    sigmas = [float(s) for s in a.sigmas.split(",")]
    if not sigmas or any(not 0 < s <= 1 for s in sigmas):
        raise SystemExit(f"--sigmas {a.sigmas}: each must be in (0, 1]")
    clips = train_dit.Clips(a.data)
    if a.count:
        clips.paths = clips.paths[:a.count]
    lat = train_dit.Latents(a.model, clips, a.latents or os.path.join(a.data, "val_latents.pt"))
    lat.fill()
    index = json.load(open(os.path.join(a.model, "model_index.json")))
    boundary = index.get("boundary_ratio", 0.9) * 1000
    m, _ = train_dit.build_denoiser(a.model, grad=False)
    ctx_cache, rows = {}, {}
    with torch.no_grad():
        for i in range(len(clips.paths)):
            caption = lat.get(i)[3]
            kind = sync_meter.kind_from_caption(caption)
            ctx = train_dit.context(a.mova, a.model, caption, ctx_cache)
            for s, v in clip_losses(m, lat, clips, i, ctx, sigmas, boundary).items():
                for k in (kind, "all"):
                    rows.setdefault(k, {}).setdefault(s, []).append(v)
    lat.save()
    summary = {k: {str(s): [round(float(np.nanmean(c)), 4) for c in zip(*v)]
                   for s, v in by_s.items()} for k, by_s in rows.items()}
    if a.json:
        print(json.dumps(summary, indent=1))
        return
    print(f"{len(clips.paths)} clips of {a.data}: video MSE / moving cells / audio MSE")
    print("kind    " + "".join(f"  sigma {s:<21}" for s in sigmas))
    for k in sorted(summary, key=lambda k: (k == "all", k)):
        by_s = summary[k]
        print(f"{k:7s} " + "".join("  {:.4f} {:.4f} {:.4f}   ".format(*by_s[str(s)])
                                   for s in sigmas))


if __name__ == "__main__":
    main()
