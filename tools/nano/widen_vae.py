#!/usr/bin/python3
"""Widens a trained nano video VAE's decoder (decoder_base_dim) or encoder (base_dim) while
keeping what it computes, so training can go on from it with more channels. Widening the
decoder leaves the encoder, its latents and the denoiser trained on them as they are; a
widened encoder starts out with the same latents, which then move as it trains.

  widen_vae.py --model DIR [--part decoder|encoder] [--factor 2] [--noise 0.01] [--seed 0]

Every channel of the part is duplicated (Net2Net): a layer's output channels are copied, and
its input weights are copied and divided by the factor, so each widened activation is the
old one repeated. The RMS norms see the same normalised values (the sum of squares and the
channel count grow alike); the mid-block attention's query is divided by sqrt(factor) because
the dot product grows by the factor while its 1/sqrt(C) scale shrinks only by sqrt(factor).
Copies receive identical gradients and would stay copies, so a little noise (relative to each
weight tensor's spread) tells them apart. Writes DIR/video_vae in place (BF16, as the trainer
exports), sets decoder_base_dim or base_dim (widening the encoder pins the decoder's width in
decoder_base_dim), and prints a JSON line. tests/models/test_wan_vae_reference.cc checks that
the engine runs a widened part as before and as the reference does.
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
    if name.startswith("decoder.") and ".time_conv." in name:
        return 2  # the two output frames of the temporal upsampling
    return 1


def widen(name, w, factor):
    """The widened tensor for one encoder or decoder parameter (numpy, float32)."""
    part = name.split(".")[0]
    # The encoder's input and the decoder's output are RGB, the decoder's input and the
    # encoder's output latents; norm gains have no input axis.
    fixed_in = name == part + ".conv_in.weight" or name.endswith(".gamma")
    fixed_out = name.startswith(part + ".conv_out.")
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
    ap.add_argument("--part", choices=("decoder", "encoder"), default="decoder")
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
        if name.startswith(a.part + "."):
            w = widen(name, w, a.factor)
            if name.endswith(".weight") and a.noise > 0:
                w = w + rng.standard_normal(w.shape).astype(np.float32) * (a.noise * float(w.std()))
        out[name] = w
    key = "decoder_base_dim" if a.part == "decoder" else "base_dim"
    old = cfg.get(key) or cfg["base_dim"]
    if a.part == "encoder" and not cfg.get("decoder_base_dim"):
        cfg["decoder_base_dim"] = old
    cfg[key] = old * a.factor
    safetensors_np.write(os.path.join(folder, WEIGHTS), out, "BF16")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(json.dumps({"component": folder, key: [old, cfg[key]]}))


if __name__ == "__main__":
    main()
