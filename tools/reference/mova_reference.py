#!/usr/bin/python3
"""Float64 reference for MOVA's joint denoiser: the dual-tower loop with the bridge
(upstream interactionv2.py, pipeline_mova.py) and the CFG sampling loop, written from
docs/upstream/{dit,bridge_pipeline}.md independently of the C++ code.

  mova_reference.py denoise-step --model DIR --in IN --out OUT [--expert 1|2] [--fps F]
  mova_reference.py sample --model DIR --in IN --out OUT [--steps N] [--cfg S] [--fps F]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402
from flow_match_reference import schedule  # noqa: E402
from wan_dit_reference import F, attention, layer_norm, lin, load_tower, rms_norm  # noqa: E402


class Bridge:
    def __init__(self, model):
        self.cfg, self.W = safetensors_np.load_component(
            model, "dual_tower_bridge", lambda v: torch.from_numpy(v).to(F))
        n = min(self.cfg["visual_layers"], self.cfg["audio_layers"])
        assert self.cfg["interaction_strategy"] == "full"
        self.layers = set(range(n))

    def rope(self, frames, per_frame, audio_len, fps):
        hd = self.cfg["head_dim"]
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=F) / hd))

        def tables(pos):
            ang = pos[:, None] * inv[None, :]
            emb = torch.cat([ang, ang], dim=-1)
            return torch.cos(emb), torch.sin(emb)

        f = torch.arange(frames, dtype=F)
        if self.cfg.get("apply_first_frame_bias_in_rope", False):
            # Latent frame 0 holds video frame 0 alone; frame f >= 1 covers video frames
            # 4f-3..4f and is placed at its first one, (4f - 3)/fps s = 1/fps + (f - 1)·4/fps
            # (the default axis below places it at its last one, 4f/fps), on the audio clock.
            vpos = torch.where(f == 0, torch.zeros_like(f),
                               (1.0 / fps + (f - 1) * 4.0 / fps)) * self.cfg["audio_fps"]
        else:
            vpos = f * self.cfg["audio_fps"] / (fps / 4.0)
        vpos = vpos.repeat_interleave(per_frame)
        return tables(vpos), tables(torch.arange(audio_len, dtype=F))

    def _block(self, prefix, x, y, xr, yr):
        W, hd = self.W, self.cfg["head_dim"]
        y = layer_norm(y, 1e-6, W[prefix + ".y_norm.weight"], W[prefix + ".y_norm.bias"])
        q = rms_norm(lin(W, x, prefix + ".inner.q"), W[prefix + ".inner.norm_q.weight"], 1e-6)
        k = rms_norm(lin(W, y, prefix + ".inner.k"), W[prefix + ".inner.norm_k.weight"], 1e-6)
        v = lin(W, y, prefix + ".inner.v")
        dim = x.shape[-1]
        heads = dim // hd

        def rot(t, cs):
            t = t.reshape(-1, heads, hd)
            half = hd // 2
            rh = torch.cat([-t[..., half:], t[..., :half]], dim=-1)
            return (t * cs[0][:, None, :] + rh * cs[1][:, None, :]).reshape(-1, dim)

        if self.cfg["apply_cross_rope"]:
            q, k = rot(q, xr), rot(k, yr)
        return lin(W, attention(q, k, v, heads), prefix + ".inner.o")

    def apply(self, l, vis, aud, vr, ar):
        a2v = self._block(f"audio_to_video_conditioners.{l}", vis, aud, vr, ar)
        v2a = self._block(f"video_to_audio_conditioners.{l}", aud, vis, ar, vr)
        return vis + a2v, aud + v2a


class Mova:
    def __init__(self, model):
        self.video = {1: load_tower(model, "video_dit"), 2: load_tower(model, "video_dit_2")}
        self.audio = load_tower(model, "audio_dit")
        self.bridge = Bridge(model)

    def step(self, expert, vlat, cond, alat, ctx, t, ta, fps):
        v, a = self.video[expert], self.audio
        v.prepare(torch.cat([vlat, cond], dim=1), t, ctx)
        a.prepare(alat, ta, ctx)
        f, hh, ww = v.grid
        vr, ar = self.bridge.rope(f, hh * ww, a.grid[0], fps)
        nv, na = v.cfg["num_layers"], a.cfg["num_layers"]
        for l in range(min(nv, na)):
            if l in self.bridge.layers:
                v.h, a.h = self.bridge.apply(l, v.h, a.h, vr, ar)
            v.block(l)
            a.block(l)
        # As upstream's forward_dual_tower_dit: the video tower's remaining blocks only; audio
        # blocks past the video tower's depth are never run.
        for l in range(min(nv, na), nv):
            v.block(l)
        return v.finish(), a.finish()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["denoise-step", "sample"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--expert", type=int, default=1)
    ap.add_argument("--fps", type=float, default=24.0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--cfg", type=float, default=5.0)
    a = ap.parse_args()
    I = {k: torch.from_numpy(v).to(F) for k, v in safetensors_np.read(a.inp).items()}
    m = Mova(a.model)
    with torch.no_grad():
        if a.stage == "denoise-step":
            vv, av = m.step(a.expert, I["video_latents"], I["video_condition"], I["audio_latents"],
                            I["context"], float(I["timestep"][0]), float(I["audio_timestep"][0]),
                            a.fps)
            out = {"video_velocity": vv.numpy(), "audio_velocity": av.numpy()}
        else:
            sc = json.load(open(os.path.join(a.model, "scheduler", "scheduler_config.json")))
            index = json.load(open(os.path.join(a.model, "model_index.json")))
            cfg = dict(sigma_min=sc["sigma_min"], sigma_max=sc["sigma_max"],
                       extra_one_step=sc["extra_one_step"],
                       inverse_timesteps=sc["inverse_timesteps"],
                       reverse_sigmas=sc["reverse_sigmas"], shift=sc["shift"],
                       num_train_timesteps=sc["num_train_timesteps"])
            train_sigmas, train_t = schedule(sc["num_train_timesteps"], cfg)
            _, ts = schedule(a.steps, cfg)

            def to_sigma(x):
                return float(train_sigmas[torch.argmin((train_t - x).abs())])

            boundary = index["boundary_ratio"] * sc["num_train_timesteps"]
            vid, aud = I["video_noise"].clone(), I["audio_noise"].clone()
            expert = 1
            for i in range(a.steps):
                t = float(ts[i])
                if expert == 1 and t < boundary:
                    expert = 2
                vv, av = m.step(expert, vid, I["video_condition"], aud, I["context"], t, t, a.fps)
                if a.cfg != 1.0:
                    nv, na = m.step(expert, vid, I["video_condition"], aud, I["negative_context"],
                                    t, t, a.fps)
                    vv = nv + a.cfg * (vv - nv)
                    av = na + a.cfg * (av - na)
                s_to = to_sigma(float(ts[i + 1])) if i + 1 < a.steps else 0.0
                d = s_to - to_sigma(t)
                vid = vid + vv * d
                aud = aud + av * d
            out = {"video_latents": vid.numpy(), "audio_latents": aud.numpy()}
    safetensors_np.write(a.out, out)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
