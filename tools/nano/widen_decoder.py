#!/usr/bin/python3
"""Widens a trained nano video VAE's decoder (decoder_base_dim) while keeping what it computes,
so decoder-only training can go on from it with more channels and the encoder, its latents
and the denoiser trained on them stay as they are.

  widen_decoder.py --model DIR [--factor 2] [--noise 0.01] [--seed 0]

Every decoder channel is duplicated (Net2Net): a layer's output channels are copied, and its
input weights are copied and halved, so each widened activation is the old one twice over.
The RMS norms see the same normalised values (the sum of squares and the channel count both
double); the mid-block attention's query is scaled by 1/sqrt(2) because the dot product
doubles while its 1/sqrt(C) scale only shrinks by sqrt(2). Copies receive identical gradients
and would stay copies, so a little noise (relative to each tensor's spread) tells them apart.
Writes DIR/video_vae in place (BF16, as the trainer exports) with decoder_base_dim set, and
prints a JSON line. tests/models/test_wan_vae_reference.cc checks that the engine decodes a
widened decoder as before and as the reference does.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import safetensors_np  # noqa: E402

WEIGHTS = "diffusion_pytorch_model.safetensors"


def blocks_of(name):
    """How many stacked blocks a tensor's output axis holds (each widened on its own)."""
    if name.endswith(("to_qkv.weight", "to_qkv.bias")):
        return 3
    if ".time_conv." in name:
        return 2  # the two output frames of the temporal upsampling
    return 1


def widen(name, w, factor):
    """The widened tensor for one decoder parameter (numpy, float32)."""
    fixed_in = name == "decoder.conv_in.weight" or name.endswith(".gamma")  # latent in; gains
    fixed_out = name.startswith("decoder.conv_out.")  # its output is RGB
    if not fixed_out:
        parts = np.split(w, blocks_of(name), axis=0)
        if name.endswith(("to_qkv.weight", "to_qkv.bias")):
            parts[0] = parts[0] / math.sqrt(factor)
        w = np.concatenate([np.concatenate([p] * factor, axis=0) for p in parts], axis=0)
    if w.ndim >= 2 and not fixed_in:
        w = np.concatenate([w] * factor, axis=1) / factor
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--factor", type=int, default=2)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.factor < 2:
        raise SystemExit(f"--factor {a.factor}: must be at least 2")
    folder = os.path.join(a.model, "video_vae")
    cfg, W = safetensors_np.load_component(a.model, "video_vae", lambda v: v.astype(np.float32))
    rng = np.random.default_rng(a.seed)
    out = {}
    for name, w in W.items():
        if name.startswith("decoder."):
            w = widen(name, w, a.factor)
            if name.endswith(".weight") and a.noise > 0:
                w = w + rng.standard_normal(w.shape).astype(np.float32) * (a.noise * float(w.std()))
        out[name] = w
    old = cfg.get("decoder_base_dim") or cfg["base_dim"]
    cfg["decoder_base_dim"] = old * a.factor
    safetensors_np.write(os.path.join(folder, WEIGHTS), out, "BF16")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(json.dumps({"component": folder, "decoder_base_dim": [old, cfg["decoder_base_dim"]]}))


if __name__ == "__main__":
    main()
