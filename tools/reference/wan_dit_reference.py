#!/usr/bin/python3
"""Float64 reference for one MOVA DiT tower (upstream WanModel / WanAudioModel), written from
the formulas in docs/upstream/dit.md, independently of the C++ code.

  wan_dit_reference.py --model DIR --component video_dit|video_dit_2|audio_dit \
                       --in IN.safetensors --out OUT.safetensors
IN holds x, timestep [1], context; OUT gets velocity.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

F = torch.float64


def layer_norm(x, eps, w=None, b=None):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    y = (x - mu) / torch.sqrt(var + eps)
    if w is not None:
        y = y * w + b
    return y


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x * torch.sigmoid(x)


def lin(W, x, prefix):
    return x @ W[prefix + ".weight"].T + W[prefix + ".bias"]


def rope(x, angles):
    # x [L, H, hd]; angles [L, hd/2]; pairs (2j, 2j+1) are complex numbers.
    xc = torch.complex(x[..., 0::2], x[..., 1::2])
    rot = torch.polar(torch.ones_like(angles), angles)[:, None, :]
    y = xc * rot
    out = torch.empty_like(x)
    out[..., 0::2] = y.real
    out[..., 1::2] = y.imag
    return out


def attention(q, k, v, heads, key_bias=None):
    """key_bias [Lk], optional, is added to every query's scores (the nano trainer's compacted
    text context: see tools/nano/train_dit.py)."""
    L, D = q.shape
    hd = D // heads
    q = q.reshape(L, heads, hd).transpose(0, 1)
    k = k.reshape(-1, heads, hd).transpose(0, 1)
    v = v.reshape(-1, heads, hd).transpose(0, 1)
    s = q @ k.transpose(1, 2) / math.sqrt(hd)
    s = torch.softmax(s if key_bias is None else s + key_bias, dim=-1)
    return (s @ v).transpose(0, 1).reshape(L, D)


def rope_angles(cfg, grid, audio):
    hd = cfg["dim"] // cfg["num_heads"]

    def omega(d):
        return torch.tensor([10000.0 ** (-(2 * j) / d) for j in range(d // 2)], dtype=F)

    if audio:
        pos = torch.arange(grid[0], dtype=F)
        return pos[:, None] * omega(hd)[None, :]
    dh = hd // 3
    df = hd - 2 * dh
    f, h, w = grid
    ff = torch.arange(f, dtype=F)[:, None] * omega(df)
    hh = torch.arange(h, dtype=F)[:, None] * omega(dh)
    ww = torch.arange(w, dtype=F)[:, None] * omega(dh)
    rows = []
    for a in range(f):
        for b in range(h):
            for c in range(w):
                rows.append(torch.cat([ff[a], hh[b], ww[c]]))
    return torch.stack(rows)


class Tower:
    """One DiT tower split as upstream's dual-tower loop uses it: prepare, block i, finish."""

    context_key_bias = None  # optional [context rows], added to cross-attention scores

    def __init__(self, cfg, W, audio):
        self.cfg, self.W, self.audio = cfg, W, audio

    def prepare(self, x, t, context):
        cfg, W = self.cfg, self.W
        D, p = cfg["dim"], cfg["patch_size"]
        # Patchify: a conv with kernel = stride = patch.
        if self.audio:
            C, Lx = x.shape[1], x.shape[2]
            self.grid = [Lx // p[0]]
            tokens = x[0].reshape(C, self.grid[0], p[0]).permute(1, 0, 2).reshape(self.grid[0], -1)
        else:
            C, T, H, Wd = x.shape[1:]
            g = self.grid = [T // p[0], H // p[1], Wd // p[2]]
            tokens = (x[0].reshape(C, g[0], p[0], g[1], p[1], g[2], p[2])
                      .permute(1, 3, 5, 0, 2, 4, 6).reshape(g[0] * g[1] * g[2], -1))
        self.h = tokens @ W["patch_embedding.weight"].reshape(D, -1).T + W["patch_embedding.bias"]
        self.ctx = lin(W, gelu_tanh(lin(W, context[0], "text_embedding.0")), "text_embedding.2")
        half = cfg["freq_dim"] // 2
        a = t * torch.pow(torch.tensor(10000.0, dtype=F), -torch.arange(half, dtype=F) / half)
        sinus = torch.cat([torch.cos(a), torch.sin(a)])
        self.t_emb = lin(W, silu(lin(W, sinus, "time_embedding.0")), "time_embedding.2")
        self.t_mod = lin(W, silu(self.t_emb), "time_projection.1").reshape(6, D)
        self.angles = rope_angles(cfg, self.grid, self.audio)

    def _attn(self, prefix, xq, kv, use_rope):
        W, D, heads, eps = self.W, self.cfg["dim"], self.cfg["num_heads"], self.cfg["eps"]
        q = rms_norm(lin(W, xq, prefix + ".q"), W[prefix + ".norm_q.weight"], eps)
        k = rms_norm(lin(W, kv, prefix + ".k"), W[prefix + ".norm_k.weight"], eps)
        v = lin(W, kv, prefix + ".v")
        if use_rope:
            hd = D // heads
            q = rope(q.reshape(-1, heads, hd), self.angles).reshape(-1, D)
            k = rope(k.reshape(-1, heads, hd), self.angles).reshape(-1, D)
        bias = self.context_key_bias if kv is self.ctx else None
        return lin(W, attention(q, k, v, heads, bias), prefix + ".o")

    def block(self, i):
        W, eps, h = self.W, self.cfg["eps"], self.h
        b = f"blocks.{i}"
        sh_a, sc_a, g_a, sh_f, sc_f, g_f = W[b + ".modulation"][0] + self.t_mod
        y = layer_norm(h, eps) * (1 + sc_a) + sh_a
        h = h + g_a * self._attn(b + ".self_attn", y, y, True)
        y = layer_norm(h, eps, W[b + ".norm3.weight"], W[b + ".norm3.bias"])
        h = h + self._attn(b + ".cross_attn", y, self.ctx, False)
        y = layer_norm(h, eps) * (1 + sc_f) + sh_f
        self.h = h + g_f * lin(W, gelu_tanh(lin(W, y, b + ".ffn.0")), b + ".ffn.2")

    def finish(self):
        W, cfg, eps, p = self.W, self.cfg, self.cfg["eps"], self.cfg["patch_size"]
        hm = W["head.modulation"][0]
        y = layer_norm(self.h, eps) * (1 + hm[1] + self.t_emb) + (hm[0] + self.t_emb)
        out = lin(W, y, "head.head")
        Co = cfg["out_dim"]
        if self.audio:
            return out.reshape(self.grid[0], p[0], Co).permute(2, 0, 1).reshape(1, Co, -1)
        f, hh, ww = self.grid
        return (out.reshape(f, hh, ww, p[0], p[1], p[2], Co).permute(6, 0, 3, 1, 4, 2, 5)
                .reshape(1, Co, f * p[0], hh * p[1], ww * p[2]))


def load_tower(model, component):
    cfg, W = safetensors_np.load_component(model, component, lambda v: torch.from_numpy(v).to(F))
    return Tower(cfg, W, component == "audio_dit")


def forward(tower, x, t, context):
    tower.prepare(x, t, context)
    for i in range(tower.cfg["num_layers"]):
        tower.block(i)
    return tower.finish()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--component", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tower = load_tower(a.model, a.component)
    I = {k: torch.from_numpy(v).to(F) for k, v in safetensors_np.read(a.inp).items()}
    with torch.no_grad():
        v = forward(tower, I["x"], float(I["timestep"][0]), I["context"])
    safetensors_np.write(a.out, {"velocity": v.numpy()})
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
