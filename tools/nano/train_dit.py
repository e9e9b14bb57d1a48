#!/usr/bin/python3
"""Trains the nano model's joint denoiser (both video experts, the audio DiT and the bridge)
with MOVA's flow-matching objective, in place in a nano checkpoint folder whose VAEs are
already trained (train_vae.py).

  train_dit.py --model DIR --data DIR [--steps N] [--lr X] [--ema D] [--state FILE] [--mova BIN]

Forward passes are tools/reference's (mova_reference.Mova.step: towers + bridge, the formulas
the C++ engine is tested against) in float32 with autograd. Latents come from the reference
VAEs, text contexts from the C++ engine (`mova eval tokenize` + `text-encode`, the text
encoder stays as it is), so training sees exactly what `mova generate` will feed the model.

Per step: one clip; sigma from the shift-5 training schedule (`--sigma-uniform P`: uniform in
(0, 1) on a fraction P of the steps), the same for both towers;
x_t = (1 − σ)·x0 + σ·noise, target noise − x0, MSE on both velocities. The first-frame
condition is dropped 20% of the time (text-only generation), the caption 10% (CFG's
unconditional branch). t ≥ boundary·1000 trains video_dit, below trains video_dit_2.

The exported weights are an exponential moving average of the trained ones (`--ema`, decay
per step): batch-1 Adam leaves the raw weights noisy from step to step, and diffusion models
sample better from the average. The raw weights and the average both live in the state file;
a state without an average (older runs) starts it from its raw weights.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import wan_dit_reference  # noqa: E402
wan_dit_reference.F = torch.float32
import dac_reference  # noqa: E402
import mova_reference  # noqa: E402
import safetensors_np  # noqa: E402
import wan_vae_reference  # noqa: E402
from train_vae import (Clips, Progress, build, ema_update, motion_weights,  # noqa: E402
                       optimizer_step, save_state)

mova_reference.F = torch.float32
dac_reference.F = torch.float32
wan_vae_reference.F = torch.float32

# src/pipeline/generate.cc's default negative prompt (upstream's, verbatim).
UPSTREAM_NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"
    "低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指")

COMPONENTS = ["video_dit", "video_dit_2", "audio_dit", "dual_tower_bridge"]


def load(model, component, grad):
    return safetensors_np.load_component(
        model, component, lambda v: torch.from_numpy(v).float().requires_grad_(grad))


def write_component(model, component, W):
    """Writes W back into the component's files, keeping its sharding (index.json)."""
    folder = os.path.join(model, component)
    arrays = {k: v.detach().numpy() for k, v in W.items()}
    index = [f for f in os.listdir(folder) if f.endswith(".safetensors.index.json")]
    if not index:
        files = [f for f in os.listdir(folder) if f.endswith(".safetensors")]
        assert len(files) == 1, folder
        safetensors_np.write(os.path.join(folder, files[0]), arrays, "BF16")
        return
    weight_map = json.load(open(os.path.join(folder, index[0])))["weight_map"]
    for shard in sorted(set(weight_map.values())):
        safetensors_np.write(os.path.join(folder, shard),
                             {k: arrays[k] for k, s in weight_map.items() if s == shard}, "BF16")


def context(mova, model, text, cache):
    """[1, 512, d_model] from the C++ engine, cached per caption."""
    if text not in cache:
        with tempfile.TemporaryDirectory() as d:
            tok, ctx = os.path.join(d, "t.safetensors"), os.path.join(d, "c.safetensors")
            subprocess.run([mova, "-q", "eval", "tokenize", "--model", model, "--set",
                            "text=" + text, "--out", tok], check=True)
            subprocess.run([mova, "-q", "eval", "text-encode", "--model", model, "--in", tok,
                            "--out", ctx], check=True)
            cache[text] = torch.from_numpy(safetensors_np.read(ctx)["context"]).float()
    return cache[text]


def compact_context(ctx):
    """[1, 512, d] padded context → ([1, n + 1, d], log counts [n + 1]).

    The padded context is its n real rows plus 512 − n zero rows (MOVA attends to them).
    Identical keys and values act as one key whose softmax weight is multiplied by their
    count, so keeping one zero row and adding log(count) to its score (the towers'
    context_key_bias) gives the same cross-attention (checked by test_train_dit.py) at a
    fraction of the text-embedding and cross-attention cost, which dominated a nano step."""
    rows = ctx[0]
    n = int((rows.abs().sum(dim=-1) != 0).sum())
    if n == rows.shape[0] or bool(rows[n:].abs().sum() != 0):
        return ctx, None  # not zero-padded at the end: use it as it is
    log_count = torch.zeros(n + 1)
    log_count[n] = math.log(rows.shape[0] - n)
    return rows[: n + 1][None], log_count


def set_context(m, ctx):
    """The context for m.step: compacted, with the towers told its key counts."""
    compact, log_count = compact_context(ctx)
    for tower in [m.audio] + list(m.video.values()):
        tower.context_key_bias = log_count
    return compact


def build_denoiser(model, grad=True):
    """The joint denoiser of a checkpoint folder as mova_reference.Mova, with its weights by
    component (trainable when `grad`)."""
    m = mova_reference.Mova.__new__(mova_reference.Mova)
    params = {}
    for c in COMPONENTS:
        cfg, W = load(model, c, grad)
        params[c] = W
        if c == "dual_tower_bridge":
            m.bridge = mova_reference.Bridge.__new__(mova_reference.Bridge)
            m.bridge.cfg, m.bridge.W = cfg, W
            m.bridge.layers = set(range(min(cfg["visual_layers"], cfg["audio_layers"])))
        else:
            tower = wan_dit_reference.Tower(cfg, W, c == "audio_dit")
            if c == "audio_dit":
                m.audio = tower
            else:
                m.video = getattr(m, "video", {})
                m.video[1 if c == "video_dit" else 2] = tower
    return m, params


def learning_rate(a, step):
    """--lr, or on the linear decay to --lr-final between --decay-from and --steps. A function
    of the step alone, so a resumed run continues the same schedule."""
    if not a.decay_from or step < a.decay_from or a.steps <= a.decay_from:
        return a.lr
    frac = min(1.0, (step - a.decay_from) / (a.steps - a.decay_from))
    return a.lr + (a.lr_final - a.lr) * frac


def sigma_of(t, shift, n=1000):
    s = t / n
    return shift * s / (1 + (shift - 1) * s)


class Latents:
    """Per-clip training inputs from the trained VAEs, computed once."""

    def __init__(self, model, clips, cache_path=None):
        vcfg, vW = load(model, "video_vae", False)
        acfg, aW = load(model, "audio_vae", False)
        self.vae = build(wan_vae_reference.WanVae, vcfg, vW)
        self.dac = build(dac_reference.Dac, acfg, aW)
        self.mean = torch.tensor(vcfg["latents_mean"]).reshape(1, -1, 1, 1, 1)
        self.std = torch.tensor(vcfg["latents_std"]).reshape(1, -1, 1, 1, 1)
        self.clips, self.cache, self.cache_path = clips, {}, cache_path
        if cache_path and os.path.exists(cache_path):
            self.cache = torch.load(cache_path)
            print(f"{cache_path}: {len(self.cache)} clips' latents")
        self.saved = len(self.cache)

    def save(self):
        """Keeps the encoded clips across runs (encoding costs more than a training step).
        Only valid while the VAE encoders stay as they are: delete the file after retraining."""
        if self.cache_path and len(self.cache) != self.saved:
            torch.save(self.cache, self.cache_path + ".tmp")
            os.replace(self.cache_path + ".tmp", self.cache_path)
            self.saved = len(self.cache)

    @torch.no_grad()
    def fill(self, batch=4):
        """Encodes every clip not cached yet, `batch` at a time (a batch-4 reference pass
        costs about what batch 1 does), saving as it goes."""
        todo = [i for i in range(len(self.clips.paths)) if i not in self.cache]
        t0 = time.time()
        for n in range(0, len(todo), batch):
            ids = todo[n:n + batch]
            frames, audio = zip(*(self.clips.get(i) for i in ids))
            v = torch.from_numpy(np.stack(frames).astype(np.float32) / 127.5 - 1.0)
            v = v.permute(0, 4, 1, 2, 3)  # [B, 3, T, H, W]
            z = (self.vae.encode(v) - self.mean) / self.std
            cond = self.vae.condition(v[:, :, 0], v.shape[2])
            za = self.dac.encode(torch.from_numpy(np.stack(audio).astype(np.float32))[:, None])
            for j, i in enumerate(ids):
                caption = str(np.load(self.clips.paths[i])["caption"])
                self.cache[i] = (z[j:j + 1], cond[j:j + 1], za[j:j + 1], caption)
            done = n + len(ids)
            if done % 200 < batch or done == len(todo):
                self.save()
                print(f"latents {done}/{len(todo)} ({time.time() - t0:.0f} s)", flush=True)

    def get(self, i):
        return self.cache[i % len(self.clips.paths)]


def latent_motion_weights(frames, weight, latent_shape):
    """Loss weights [1, 1, T', h, w] on the video latent grid for a clip's frames [T, H, W, 3]
    (uint8): 1, plus `weight` on the latent cells whose pixels move (train_vae.motion_weights'
    mark: differing from the clip's median), pooled the way the VAE compresses (frame 0
    alone, then 4 frames per latent frame; spatial blocks of H / h). The plain velocity MSE is
    dominated by the static background (session 11: x0 error 0.03 on a training ball clip
    whose generated ball was a fading blob); the moving cells are 2-25 % of the grid."""
    x = torch.from_numpy(frames.astype(np.float32) / 127.5 - 1.0).permute(3, 0, 1, 2)[None]
    moving = motion_weights(x, 1.0)[0, 0] - 1.0                       # [T, H, W], 0 or 1
    t, h, w = latent_shape
    if moving.shape[0] != 1 + 4 * (t - 1) or moving.shape[1] % h or moving.shape[2] % w:
        raise ValueError(f"frames {tuple(frames.shape)} do not map onto latents {latent_shape}")
    groups = [moving[:1]] + [moving[1 + 4 * k:5 + 4 * k] for k in range(t - 1)]
    per_frame = torch.stack([g.amax(0) for g in groups])              # [T', H, W]
    cells = torch.nn.functional.max_pool2d(per_frame[:, None], (moving.shape[1] // h,
                                                                moving.shape[2] // w))[:, 0]
    return (1.0 + weight * cells)[None, None]


def weighted_mse(err, w):
    """Mean of err² [n, c, T', h, w] under per-cell weights w [n, 1, T', h, w]."""
    return ((err ** 2) * w).sum() / (w.sum() * err.shape[1])


def training_latents(a):
    """The clips of --data (the first --clips) and their latents, encoding the ones not cached."""
    clips = Clips(a.data)
    if a.clips:
        clips.paths = clips.paths[:a.clips]
    lat = Latents(a.model, clips, a.latents or os.path.join(
        os.path.dirname(os.path.abspath(a.model)), "dit_latents.pt"))
    lat.fill()
    return clips, lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--decay-from", type=int, default=0,
                    help="from this step on, the learning rate falls linearly to --lr-final "
                         "at --steps (0: constant)")
    ap.add_argument("--lr-final", type=float, default=2e-5)
    ap.add_argument("--ema", type=float, default=0.999,
                    help="decay of the exported weights' moving average (0: export the raw ones)")
    ap.add_argument("--state")
    ap.add_argument("--export-every", type=int, default=500)
    ap.add_argument("--mova", default=os.path.join(HERE, "..", "..", "build", "bin", "mova"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clips", type=int, default=0, help="train on the first N clips (0: all)")
    ap.add_argument("--latents", help="latent cache file (default DIR/../dit_latents.pt)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--motion-weight", type=float, default=0.0,
                    help="extra weight of the video loss on latent cells whose pixels move "
                    "(0: the plain MSE)")
    ap.add_argument("--sigma-uniform", type=float, default=0.0,
                    help="fraction of steps whose sigma is drawn uniformly in (0, 1) instead of "
                         "from the shifted schedule (more steps at mid noise, where motion is "
                         "decided; 0: the schedule only)")
    ap.add_argument("--encode-only", action="store_true",
                    help="fill the latent cache (--latents) for every clip in --data and exit; "
                         "can run beside a trainer that already has all its clips' latents")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.encode_only:
        training_latents(a)
        return
    state_path = a.state or os.path.join(os.path.dirname(os.path.abspath(a.model)),
                                         "dit_state.pt")
    m, params = build_denoiser(a.model)
    all_params = [p for W in params.values() for p in W.values()]
    opt = torch.optim.Adam(all_params, lr=a.lr)
    step = 0
    if os.path.exists(state_path):
        st = torch.load(state_path)
        with torch.no_grad():
            for c in COMPONENTS:
                for k, v in st["weights"][c].items():
                    params[c][k].copy_(v)
        opt.load_state_dict(st["opt"])
        step = st["step"]
        print(f"resumed the denoiser at step {step}")
    ema = {c: {k: v.detach().clone() for k, v in W.items()} for c, W in params.items()}
    if os.path.exists(state_path) and "ema" in st:
        for c in COMPONENTS:
            for k, v in st["ema"][c].items():
                ema[c][k].copy_(v)
    elif a.ema:
        print(f"the weights' moving average starts at step {step}")
    index = json.load(open(os.path.join(a.model, "model_index.json")))
    sched = json.load(open(os.path.join(a.model, "scheduler", "scheduler_config.json")))
    boundary = index.get("boundary_ratio", 0.9) * 1000
    shift = sched.get("shift", 5.0)
    clips, lat = training_latents(a)
    ctx_cache, motion_cache = {}, {}
    rng = np.random.default_rng(a.seed + step)
    progress = Progress("denoiser", a.steps, step)
    while step < a.steps:
        i = int(rng.integers(len(clips.paths)))
        z, cond, za, caption = lat.get(i)
        if rng.random() < 0.1:
            # CFG's unconditional branch: `mova generate` passes the negative prompt, by
            # default upstream's, so both it and the empty prompt are trained as "no caption".
            caption = "" if rng.random() < 0.5 else UPSTREAM_NEGATIVE_PROMPT
        if rng.random() < 0.2:
            cond = torch.zeros_like(cond)
        ctx = context(a.mova, a.model, caption, ctx_cache)
        # The sampler feeds the model t = 1000·σ with σ on the shifted schedule, and picks the
        # expert by that t; training draws σ the same way (--sigma-uniform: some uniformly).
        u = float(rng.uniform(0, 1000))
        uniform = a.sigma_uniform > 0 and rng.random() < a.sigma_uniform  # default: no draw
        s = u / 1000.0 if uniform else sigma_of(u, shift)
        t = 1000.0 * s
        nv, na = torch.randn_like(z), torch.randn_like(za)
        xv, xa = (1 - s) * z + s * nv, (1 - s) * za + s * na
        vv, va = m.step(1 if t >= boundary else 2, xv, cond, xa, set_context(m, ctx), t, t, 24.0)
        if a.motion_weight:
            if i not in motion_cache:  # a clip's weights never change: computed once
                motion_cache[i] = latent_motion_weights(clips.get(i)[0], a.motion_weight,
                                                        z.shape[2:])
            video_loss = weighted_mse(vv - (nv - z), motion_cache[i])
        else:
            video_loss = ((vv - (nv - z)) ** 2).mean()
        loss = video_loss + ((va - (na - za)) ** 2).mean()
        for g in opt.param_groups:
            g["lr"] = learning_rate(a, step)
        optimizer_step(opt, loss)
        if a.ema:
            ema_update(ema, params, a.ema)
        step += 1
        progress.update(step, loss)
        if step % a.export_every == 0 or step == a.steps:
            save_state(state_path, {c: {k: v.detach() for k, v in W.items()}
                                    for c, W in params.items()}, opt, step,
                       **({"ema": ema} if a.ema else {}))
            for c in COMPONENTS:
                write_component(a.model, c, ema[c] if a.ema else params[c])
            lat.save()
    print(json.dumps({"step": step, "loss": progress.avg}))


if __name__ == "__main__":
    main()
