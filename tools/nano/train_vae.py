#!/usr/bin/python3
"""Trains the nano model's video VAE (Wan2.1 layout) and audio VAE (DAC layout) on world.py
clips, in place in a checkpoint folder made by `mova make-tiny DIR --preset nano`.

The forward passes are tools/reference's (the same formulas the C++ engine is tested
against), run in float32 with autograd, so the trained weights mean the same thing in C++.

  train_vae.py --model DIR --data DIR --which video|audio [--steps N] [--lr X]
               [--state FILE] [--export-every N]

Resumable: optimiser state and step go to --state (default DIR/../<which>_vae_state.pt);
weights are written back into DIR/<which>_vae/diffusion_pytorch_model.safetensors (BF16)
every --export-every steps and at the end. For the video VAE, latents_mean/latents_std in
config.json are set from the encoder's statistics over the data at export.
"""
import argparse
import contextlib
import glob
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import dac_reference  # noqa: E402
import safetensors_np  # noqa: E402
import wan_vae_reference  # noqa: E402

dac_reference.F = torch.float32
wan_vae_reference.F = torch.float32

WEIGHTS = "diffusion_pytorch_model.safetensors"


def load_params(model, component):
    cfg, W = safetensors_np.load_component(
        model, component, lambda v: torch.from_numpy(v).float().requires_grad_())
    return cfg, W


def build(cls, cfg, W):
    obj = cls.__new__(cls)
    obj.cfg, obj.W = cfg, W
    return obj


class Clips:
    """world.py npz clips, loaded lazily and cached."""

    def __init__(self, data):
        self.paths = sorted(glob.glob(os.path.join(data, "clip_*.npz")))
        if not self.paths:
            raise SystemExit(f"{data}: no clip_*.npz (run world.py --out {data} --count N)")
        self.cache = {}

    def get(self, i):
        p = self.paths[i % len(self.paths)]
        if p not in self.cache:
            z = np.load(p)
            self.cache[p] = (z["frames"], z["audio"])
        return self.cache[p]


def fast_pointwise_convs(dac):
    """The DAC's 1×1 convolutions as matmuls. Debian's torch 1.13 runs them on its slow im2col
    path on the CPU (backward ≈ 18 ms a call, 60 % of a training step); a matmul is the same
    product up to float rounding (checked: max difference 1e-6 of the output's range)."""
    plain = dac.conv

    def conv(x, p, **kw):
        w = dac.weight(p)
        if w.shape[-1] == 1 and not kw:
            return torch.matmul(w[:, :, 0], x) + dac.W[p + ".bias"][:, None]
        return plain(x, p, **kw)

    dac.conv = conv
    return dac


def optimizer_step(opt, loss):
    # None, not zero: Adam then skips what this step did not use (the video expert not
    # drawn), where a zero gradient would still move it along its old momentum.
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


class Progress:
    """A smoothed loss, printed every 25 steps with the time per step."""

    def __init__(self, name, steps, step):
        self.name, self.steps, self.last, self.t0, self.avg = name, steps, step, time.time(), None

    def update(self, step, loss):
        self.avg = float(loss) if self.avg is None else 0.98 * self.avg + 0.02 * float(loss)
        if step % 25 == 0 or step == self.steps:
            print(f"{self.name} step {step}/{self.steps} loss {self.avg:.4f} "
                  f"({(time.time() - self.t0) / (step - self.last):.2f} s/step)", flush=True)
            self.t0, self.last = time.time(), step


def ema_update(ema, params, decay):
    """ema ← decay·ema + (1 − decay)·params, in place, for every component's tensors."""
    with torch.no_grad():
        for c, W in params.items():
            for k, v in W.items():
                ema[c][k].mul_(decay).add_(v.detach(), alpha=1 - decay)


@contextlib.contextmanager
def swapped_in(W, replacement):
    """W's tensors hold `replacement`'s values inside the block (so the VAE built on W encodes
    with them, as export's latent statistics need) and their own again after it."""
    with torch.no_grad():
        saved = {k: W[k].detach().clone() for k in replacement}
        for k, v in replacement.items():
            W[k].copy_(v)
    try:
        yield
    finally:
        with torch.no_grad():
            for k, v in saved.items():
                W[k].copy_(v)


def save_state(path, weights, opt, step, **extra):
    """Writes the resumable state atomically (a crash mid-write keeps the previous one)."""
    torch.save({"weights": weights, "opt": opt.state_dict(), "step": step, **extra},
               path + ".tmp")
    os.replace(path + ".tmp", path)


def stft_loss(x, y):
    """Multi-scale STFT loss: spectral convergence (relative error, dominated by the loud
    bins: the thuds, beeps and syllables the meter listens for) plus log magnitude floored
    above the world's background noise (a 1e-5 floor made the many quiet bins dominate and
    the first DAC run learned the noise floor before the beeps)."""
    loss = 0.0
    for n in (256, 512, 1024):
        win = torch.hann_window(n)
        X = torch.stft(x, n, n // 4, window=win, return_complex=True).abs()
        Y = torch.stft(y, n, n // 4, window=win, return_complex=True).abs()
        loss = loss + torch.linalg.norm(X - Y) / (torch.linalg.norm(X) + 1e-3)
        loss = loss + (torch.log(X + 0.1) - torch.log(Y + 0.1)).abs().mean()
    return loss


def edge_loss(y, x):
    """L1 between the images' horizontal and vertical differences: the plain pixel losses
    are satisfied by blur, and the meter's detectors need the balls', stick's and mouth's
    edges."""
    dx = lambda v: v[..., :, 1:] - v[..., :, :-1]  # noqa: E731
    dy = lambda v: v[..., 1:, :] - v[..., :-1, :]  # noqa: E731
    return (dx(y) - dx(x)).abs().mean() + (dy(y) - dy(x)).abs().mean()


def motion_weights(x, weight):
    """Per-pixel loss weights [n, 1, T, H, W] for a window x [n, 3, T, H, W]: 1, plus `weight`
    where a pixel differs from its median over the window (the balls, the stick, the mouth,
    the light). Plain means let the static background (most pixels) dominate, and the first
    VAE learnt to blur small moving objects away after frame 0 while the loss stayed low."""
    if x.shape[2] < 3:
        return torch.ones_like(x[:, :1])
    moving = (x - x.median(dim=2, keepdim=True).values).abs().sum(1, keepdim=True) > 0.15
    return 1.0 + weight * moving.float()


def weighted_video_loss(y, x, w):
    """L1 + L2 + the edge loss, each a w-weighted mean (w = 1: the plain losses)."""
    mean = lambda e, ww: (e * ww).sum() / (ww.sum() * e.shape[1])  # noqa: E731
    dx = lambda v: v[..., :, 1:] - v[..., :, :-1]  # noqa: E731
    dy = lambda v: v[..., 1:, :] - v[..., :-1, :]  # noqa: E731
    wx = torch.maximum(w[..., :, 1:], w[..., :, :-1])
    wy = torch.maximum(w[..., 1:, :], w[..., :-1, :])
    return (mean((y - x).abs(), w) + mean((y - x) ** 2, w)
            + mean((dx(y) - dx(x)).abs(), wx) + mean((dy(y) - dy(x)).abs(), wy))


def video_batch(clips, rng, frames, n=1, crop=0):
    """[n, 3, frames, H, W]: the first `frames` frames of n random clips, in [-1, 1]; with
    `crop`, the same random crop×crop square of every frame of a clip."""
    vs = []
    for _ in range(n):
        f, _ = clips.get(int(rng.integers(1 << 30)))
        f = f[:frames]
        if 0 < crop < min(f.shape[1:3]):
            y, x = (int(rng.integers(0, s - crop + 1)) for s in f.shape[1:3])
            f = f[:, y:y + crop, x:x + crop]
        vs.append(torch.from_numpy(f.astype(np.float32) / 127.5 - 1.0))  # [T, H, W, 3]
    return torch.stack(vs).permute(0, 4, 1, 2, 3)


def audio_batch(clips, rng, samples, n=1):
    """[n, 1, samples]: random windows of n random clips."""
    xs = []
    for _ in range(n):
        _, a = clips.get(int(rng.integers(1 << 30)))
        start = int(rng.integers(0, max(1, len(a) - samples)))
        xs.append(torch.from_numpy(a[start:start + samples].astype(np.float32)))
    return torch.stack(xs).unsqueeze(1)


def is_decoder(name):
    return name.startswith(("decoder.", "post_quant_conv."))


def export(model, component, cfg, W, clips=None, vae=None):
    folder = os.path.join(model, component)
    safetensors_np.write(os.path.join(folder, WEIGHTS),
                         {k: v.detach().numpy() for k, v in W.items()}, "BF16")
    if component == "video_vae" and vae is not None:
        with torch.no_grad():  # latent statistics over 16 clips, per channel
            rng = np.random.default_rng(0)
            zs = [vae.encode(video_batch(clips, rng, 49, 4)) for _ in range(4)]
            z = torch.cat([t.transpose(0, 1).flatten(1) for t in zs], dim=1)
            cfg["latents_mean"] = [round(float(m), 4) for m in z.mean(dim=1)]
            cfg["latents_std"] = [round(max(float(s), 1e-3), 4) for s in z.std(dim=1)]
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)


def normalize_dac_latents(model, clips):
    """Rescales the DAC so its latents have about unit standard deviation, the scale the
    denoiser's unit noise assumes (MOVA feeds DAC latents to the audio DiT unnormalised).
    The encoder's quant_conv (its mean half) is multiplied and post_quant_conv divided by one
    power of two, so the BF16 weights change exactly and decode(encode(x)) is unchanged."""
    cfg, W = safetensors_np.load_component(model, "audio_vae", lambda v: torch.from_numpy(v).float())
    dac = build(dac_reference.Dac, cfg, W)
    rng = np.random.default_rng(0)
    with torch.no_grad():
        z = torch.cat([dac.encode(audio_batch(clips, rng, 32000, 4)) for _ in range(4)])
    std = float(z.std())
    scale = 2.0 ** round(math.log2(1.0 / std))
    half = W["quant_conv.bias"].shape[0] // 2

    def scale_conv(p, rows, factor):
        key = p + (".weight_g" if p + ".weight_g" in W else ".weight")
        W[key][rows] *= factor
        if rows != slice(None):
            W[p + ".bias"][rows] *= factor

    scale_conv("quant_conv", slice(0, half), scale)
    scale_conv("post_quant_conv", slice(None), 1.0 / scale)
    safetensors_np.write(os.path.join(model, "audio_vae", WEIGHTS),
                         {k: v.numpy() for k, v in W.items()}, "BF16")
    print(json.dumps({"audio_latent_std": round(std, 4), "scale": scale,
                      "new_std": round(std * scale, 4)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--which", choices=["video", "audio"], required=True)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--state")
    ap.add_argument("--export-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--normalize-latents", action="store_true",
                    help="audio only: rescale the trained DAC's latents to about unit std "
                    "(exact power-of-two reparametrisation) and exit; run once before the "
                    "denoiser's latents are computed")
    ap.add_argument("--batch", type=int, default=4,
                    help="clips per step (1-frame video steps take 4x as many); the "
                    "reference passes cost about the same per call at batch 1 and 4")
    ap.add_argument("--crop", type=int, default=0,
                    help="video: train multi-frame windows on random crop×crop squares (a "
                    "multiple of 8; 1-frame windows stay whole, so the mid-block attention "
                    "still sees whole frames): the convolutions cost per pixel")
    ap.add_argument("--windows", default="1,5,9,17,49",
                    help="video: the window lengths (frames from a clip start, 4k+1) drawn "
                    "uniformly per step; long windows train the steady state deep into a clip")
    ap.add_argument("--motion-weight", type=float, default=0.0,
                    help="video: extra loss weight on pixels that move within the window "
                    "(0: plain means)")
    ap.add_argument("--decoder-only", action="store_true",
                    help="freeze the encoder (as exported) and train the decoder only, so the "
                    "denoiser can train on the encoder's latents meanwhile")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="export a moving average of the trained weights with this decay "
                    "(e.g. 0.995; 0: the raw weights). Batch-1 Adam moves the raw weights "
                    "enough that the gate's figures jumped from one export to the next")
    a = ap.parse_args()
    if a.crop % 8:
        raise SystemExit(f"--crop {a.crop}: must be a multiple of 8 (the VAE downsamples 8x)")
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    component = a.which + "_vae"
    if a.normalize_latents:
        if a.which != "audio":
            raise SystemExit("--normalize-latents is for --which audio (the video VAE has "
                             "latents_mean/latents_std in its config)")
        return normalize_dac_latents(a.model, Clips(a.data))
    here = os.path.dirname(os.path.abspath(a.model))
    full_state = os.path.join(here, component + "_state.pt")
    state_path = a.state or (os.path.join(here, component + "_decoder_state.pt")
                             if a.decoder_only else full_state)
    cfg, W = load_params(a.model, component)
    vae = build(wan_vae_reference.WanVae if a.which == "video" else dac_reference.Dac, cfg, W)
    if a.which == "audio":
        fast_pointwise_convs(vae)
    trained = {k: v for k, v in W.items() if is_decoder(k) or not a.decoder_only}
    if a.decoder_only:
        # The encoder stays bit-for-bit what was exported (BF16), the one the denoiser's
        # latents come from; the decoder starts from the full run's float32 weights, unless
        # the exported decoder has other shapes (widened by widen_vae.py): then from it.
        for k, v in W.items():
            v.requires_grad_(k in trained)
        if not os.path.exists(state_path) and os.path.exists(full_state):
            full = torch.load(full_state)["weights"]
            if all(k in full and full[k].shape == W[k].shape for k in trained):
                with torch.no_grad():
                    for k in trained:
                        W[k].copy_(full[k])
    opt = torch.optim.Adam(trained.values(), lr=a.lr)
    step = 0
    if os.path.exists(state_path):
        st = torch.load(state_path)
        stale = [k for k, v in st["weights"].items() if k in trained and v.shape != W[k].shape]
        if stale:
            raise SystemExit(f"{state_path}: {stale[0]} has shape {tuple(st['weights'][stale[0]].shape)}"
                             f" but the model's is {tuple(W[stale[0]].shape)} (widened since?): "
                             "move the state file aside or pass another --state")
        with torch.no_grad():
            for k, v in st["weights"].items():
                if k in trained:
                    W[k].copy_(v)
        opt.load_state_dict(st["opt"])
        for g in opt.param_groups:  # --lr applies to a resumed run too
            g["lr"] = a.lr
        step = st["step"]
        print(f"resumed {component} at step {step}")
    ema = {k: v.detach().clone() for k, v in trained.items()}
    if os.path.exists(state_path) and "ema" in st:
        with torch.no_grad():
            for k, v in st["ema"].items():
                ema[k].copy_(v)
    elif a.ema:
        print(f"the weights' moving average starts at step {step}")
    clips = Clips(a.data)
    windows = [int(w) for w in a.windows.split(",")]
    if any(w < 1 or (w - 1) % 4 for w in windows):
        raise SystemExit(f"--windows {a.windows}: lengths must be 4k+1")
    rng = np.random.default_rng(a.seed + step)
    progress = Progress(component, a.steps, step)
    while step < a.steps:
        if a.which == "video":
            # Clip starts (frame 0 is encoded on its own, as in MOVA's image condition) of
            # 1, 5, 9, 17 or 49 frames. Short windows are cheap, but the causal convolutions'
            # temporal receptive field spans more than 17 frames, so latents deeper into a clip
            # see a context (no start padding in view) that only long windows train: without
            # 17-frame windows the first run darkened after frame ~16, and with them but not
            # 49 the second darkened and left the face's mouth open after frame ~12.
            frames = int(rng.choice(windows))
            n = {1: 4 * a.batch, 17: max(1, a.batch // 2), 49: max(1, a.batch // 4)}.get(
                frames, a.batch)
            x = video_batch(clips, rng, frames, n, 0 if frames == 1 else a.crop)
            z = vae.encode(x)
            y = vae.decode(z, clamp=False)
            if a.motion_weight > 0:
                loss = weighted_video_loss(y, x, motion_weights(x, a.motion_weight))
            else:
                loss = (y - x).abs().mean() + ((y - x) ** 2).mean() + edge_loss(y, x)
            loss = loss + 1e-4 * (z ** 2).mean()
        else:
            x = audio_batch(clips, rng, 8000, a.batch)
            z = vae.encode(x)
            y = vae.decode(z)[..., : x.shape[-1]]
            loss = (y - x).abs().mean() + stft_loss(y[:, 0], x[:, 0]) + 1e-4 * (z ** 2).mean()
        optimizer_step(opt, loss)
        if a.ema:
            ema_update({component: ema}, {component: trained}, a.ema)
        step += 1
        progress.update(step, loss)
        if step % a.export_every == 0 or step == a.steps:
            save_state(state_path, {k: v.detach() for k, v in trained.items()}, opt, step,
                       **({"ema": ema} if a.ema else {}))
            # A frozen encoder keeps its latent statistics (the denoiser was trained on them).
            with swapped_in(W, ema if a.ema else {}):
                export(a.model, component, cfg, W, clips, None if a.decoder_only else vae)
    print(json.dumps({"component": component, "step": step, "loss": progress.avg}))


if __name__ == "__main__":
    main()
