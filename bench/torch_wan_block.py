#!/usr/bin/env python3
"""PyTorch's time for one upstream-architecture Wan DiT block and one MOVA bridge layer: the
reference bench_cuda_dit_block is compared with, on the same GPU in the same run
(scripts/gpu-run.sh bench).

The block follows upstream's WanAttentionBlock (Wan2.1/2.2 `model.py`, as MOVA uses it):
BF16 weights; adaLN modulation and the residual stream in float32; q/k RMSNorm over the full
width; RoPE in float64 (upstream's `rope_apply` through complex128); attention through
`F.scaled_dot_product_attention` in BF16; tanh GELU FFN. The bridge layer follows MOVA's
`interactionv2.py`: audio→video and video→audio ConditionalCrossAttentionBlocks reading the
pre-layer states (affine LayerNorm of the keys' tower, q/k RMSNorm, rotate-half RoPE with BF16
cos/sin on the shared audio clock, SDPA), added to the float32 streams. Random weights,
published sizes.

  torch_wan_block.py [--config video360|video720|audio|bridge|bridge720|all] [--iters N]
                     [--device cuda|cpu]
                     [--tiny]   (tiny shapes: a smoke test of this script on the CPU)

Prints one JSON line per config: block_ms, self_attention_ms (SDPA alone, blocks), peak device
GiB; with `all`, then a full joint CFG step at 360p composed from the three
(2 x (40 video360 + 30 audio + 30 bridge), as bench_cuda_dit_block composes it).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

# name: tokens, dim, heads, ffn, text tokens (as bench_cuda_dit_block.cc)
SHAPES = {
    "video360": (43120, 5120, 40, 13824, 512),
    "video720": (176400, 5120, 40, 13824, 512),
    "audio": (402, 1536, 12, 6144, 512),
}
TINY = {"video360": (96, 256, 2, 512, 16), "audio": (40, 256, 2, 512, 16)}
# name: video tokens (49 latent frames), audio tokens, video dim, audio dim, head dim
BRIDGE_SHAPES = {"bridge": (43120, 402, 5120, 1536, 128), "bridge720": (176400, 402, 5120, 1536, 128)}
BRIDGE_TINY = {"bridge": (98, 40, 256, 128, 64)}
LATENT_FRAMES = 49
AUDIO_STEPS_PER_LATENT_FRAME = 50.0 / (24.0 / 4)  # audio_fps / (fps / VAE temporal stride)
# Published depths: 40 video blocks, 30 audio blocks, the bridge at each of the 30 shared layers.
STEP = {"passes": 2, "video360": 40, "audio": 30, "bridge": 30}


def sdpa(q, k, v):
    """q, k, v [B, H, L, hd]. PyTorch < 2.0 (Debian's, for --tiny) has no SDPA."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    w = torch.softmax((q.float() @ k.float().transpose(-1, -2)) / math.sqrt(q.shape[-1]), -1)
    return (w @ v.float()).to(q.dtype)


class Block(torch.nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.dim, self.heads = dim, heads
        lin = lambda i, o: torch.nn.Linear(i, o)  # noqa: E731
        self.self_qkvo = torch.nn.ModuleList([lin(dim, dim) for _ in range(4)])
        self.cross_qkvo = torch.nn.ModuleList([lin(dim, dim) for _ in range(4)])
        self.norms = torch.nn.Parameter(torch.rand(4, dim) + 0.5)  # self q, k; cross q, k
        self.norm3 = torch.nn.LayerNorm(dim, eps=1e-6)
        self.ffn = torch.nn.Sequential(lin(dim, ffn), torch.nn.GELU(approximate="tanh"),
                                       lin(ffn, dim))
        self.modulation = torch.nn.Parameter(torch.randn(1, 6, dim) / dim ** 0.5)

    def rms(self, x, w):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)).to(x.dtype) * w

    def rope(self, x, freqs):  # x [1, L, H, hd]; freqs complex128 [L, 1, hd/2]
        L, H = x.shape[1], x.shape[2]
        xc = torch.view_as_complex(x[0].to(torch.float64).reshape(L, H, -1, 2))
        return torch.view_as_real(xc * freqs).flatten(2).unsqueeze(0).to(x.dtype)

    def attention(self, proj, norms, x, kv, freqs):
        q, k, v, o = proj
        L, Lk, H, hd = x.shape[1], kv.shape[1], self.heads, self.dim // self.heads
        qh = self.rms(q(x), norms[0]).view(1, L, H, hd)
        kh = self.rms(k(kv), norms[1]).view(1, Lk, H, hd)
        vh = v(kv).view(1, Lk, H, hd)
        if freqs is not None:
            qh, kh = self.rope(qh, freqs), self.rope(kh, freqs)
        out = sdpa(qh.transpose(1, 2), kh.transpose(1, 2), vh.transpose(1, 2))
        return o(out.transpose(1, 2).reshape(1, L, self.dim))

    def forward(self, x, context, freqs, t_mod):
        e = (self.modulation.float() + t_mod).chunk(6, dim=1)
        dt = self.self_qkvo[0].weight.dtype
        ln = lambda v: F.layer_norm(v, (self.dim,), eps=1e-6)  # noqa: E731
        h = (ln(x) * (1 + e[1]) + e[0]).to(dt)
        x = x + self.attention(self.self_qkvo, self.norms[0:2], h, h, freqs).float() * e[2]
        h = self.norm3(x).to(dt)
        x = x + self.attention(self.cross_qkvo, self.norms[2:4], h, context, None).float()
        h = (ln(x) * (1 + e[4]) + e[3]).to(dt)
        return x + self.ffn(h).float() * e[5]


def rotate_half(t):
    half = t.shape[-1] // 2
    return torch.cat([-t[..., half:], t[..., :half]], dim=-1)


class CrossBlock(torch.nn.Module):
    """MOVA's ConditionalCrossAttentionBlock (published config: no pooled adaLN)."""

    def __init__(self, dim, kv_dim, head_dim):
        super().__init__()
        self.dim, self.heads = dim, dim // head_dim
        self.y_norm = torch.nn.LayerNorm(kv_dim, eps=1e-6)
        self.q, self.o = torch.nn.Linear(dim, dim), torch.nn.Linear(dim, dim)
        self.k, self.v = torch.nn.Linear(kv_dim, dim), torch.nn.Linear(kv_dim, dim)
        self.norms = torch.nn.Parameter(torch.rand(2, dim) + 0.5)

    def rms(self, x, w):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)).to(x.dtype) * w

    def forward(self, x, y, x_cs, y_cs):  # x BF16 [1, Lx, dim]; y float32 [1, Ly, kv_dim]
        dt = self.q.weight.dtype
        y = self.y_norm(y).to(dt)
        Lx, Ly, H = x.shape[1], y.shape[1], self.heads
        q = self.rms(self.q(x), self.norms[0]).view(1, Lx, H, -1)
        k = self.rms(self.k(y), self.norms[1]).view(1, Ly, H, -1)
        v = self.v(y).view(1, Ly, H, -1)
        q = q * x_cs[0] + rotate_half(q) * x_cs[1]
        k = k * y_cs[0] + rotate_half(k) * y_cs[1]
        out = sdpa(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.o(out.transpose(1, 2).reshape(1, Lx, self.dim))


class BridgeLayer(torch.nn.Module):
    def __init__(self, video_dim, audio_dim, head_dim):
        super().__init__()
        self.a2v = CrossBlock(video_dim, audio_dim, head_dim)
        self.v2a = CrossBlock(audio_dim, video_dim, head_dim)

    def forward(self, video, audio, video_cs, audio_cs):  # float32 streams
        dt = self.a2v.q.weight.dtype
        dv = self.a2v(video.to(dt), audio, video_cs, audio_cs)
        da = self.v2a(audio.to(dt), video, audio_cs, video_cs)
        return video + dv.float(), audio + da.float()


def rotary(pos, head_dim, dtype):
    """(cos, sin) [1, L, 1, head_dim] as upstream's build_aligned_freqs: float32 angles, the
    frequencies repeated over both halves, cast to the activations' dtype."""
    inv = 1.0 / 10000.0 ** (torch.arange(0, head_dim, 2, device=pos.device).float() / head_dim)
    emb = torch.cat([pos[:, None] * inv[None]] * 2, dim=-1)
    return emb.cos().to(dtype)[None, :, None], emb.sin().to(dtype)[None, :, None]


def timed(fn, iters, device):
    if device == "cuda":
        fn()
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        stop.record()
        torch.cuda.synchronize()
        return start.elapsed_time(stop) / iters
    fn()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) * 1e3 / iters


def record(name, tokens, ms, device, **extra):
    out = {"config": name, "tokens": tokens, "block_ms": round(ms, 3), **extra}
    if device == "cuda":
        out["device_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
        out["torch"] = torch.__version__
        out["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(out), flush=True)
    return out


def bench_block(name, shape, iters, device):
    L, D, H, ffn, T = shape
    torch.manual_seed(0)
    dt = torch.bfloat16 if device == "cuda" else torch.float32
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    block = Block(D, H, ffn).to(device=device, dtype=dt)
    block.norm3.float()
    x = torch.randn(1, L, D, device=device)
    context = torch.randn(1, T, D, device=device, dtype=dt)
    pairs = D // H // 2
    pos = torch.arange(L, device=device, dtype=torch.float64) % 4096
    inv = 10000.0 ** (-torch.arange(pairs, device=device, dtype=torch.float64) / pairs)
    freqs = torch.polar(torch.ones(L, pairs, dtype=torch.float64, device=device),
                        pos[:, None] * inv[None]).unsqueeze(1)
    t_mod = torch.randn(1, 6, D, device=device) * 0.1
    q = torch.randn(1, H, L, D // H, device=device, dtype=dt)
    with torch.no_grad():
        block_ms = timed(lambda: block(x, context, freqs, t_mod), iters, device)
        attn_ms = timed(lambda: sdpa(q, q, q), iters, device)
    return record(name, L, block_ms, device, self_attention_ms=round(attn_ms, 3),
                  self_attention_tflops=round(4.0 * L * L * D / (attn_ms * 1e-3) / 1e12, 1))


def bench_bridge(name, shape, iters, device):
    Lv, La, Dv, Da, hd = shape
    torch.manual_seed(0)
    dt = torch.bfloat16 if device == "cuda" else torch.float32
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    layer = BridgeLayer(Dv, Da, hd).to(device=device, dtype=dt)
    layer.a2v.y_norm.float(), layer.v2a.y_norm.float()
    video = torch.randn(1, Lv, Dv, device=device)
    audio = torch.randn(1, La, Da, device=device)
    per_frame = max(Lv // LATENT_FRAMES, 1)
    video_pos = (torch.arange(Lv, device=device) // per_frame).float() * AUDIO_STEPS_PER_LATENT_FRAME
    video_cs = rotary(video_pos, hd, dt)
    audio_cs = rotary(torch.arange(La, device=device).float(), hd, dt)
    with torch.no_grad():
        ms = timed(lambda: layer(video, audio, video_cs, audio_cs), iters, device)
    return record(name, Lv, ms, device, audio_tokens=La)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="all",
                    choices=["video360", "video720", "audio", "bridge", "bridge720", "all"])
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--tiny", action="store_true")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_wan_block.py: no CUDA device visible to PyTorch (--device cpu "
                         "--tiny runs the smoke test)")
    blocks = TINY if a.tiny else SHAPES
    bridges = BRIDGE_TINY if a.tiny else BRIDGE_SHAPES
    wanted = lambda n: a.config == n or (a.config == "all" and "720" not in n)  # noqa: E731
    if not any(map(wanted, list(blocks) + list(bridges))):
        raise SystemExit(f"--config {a.config}: no such shape with --tiny")
    done = {}
    for n, shape in blocks.items():
        if wanted(n):
            done[n] = bench_block(n, shape, a.iters, a.device)
    for n, shape in bridges.items():
        if wanted(n):
            done[n] = bench_bridge(n, shape, a.iters, a.device)
    if all(n in done for n in ("video360", "audio", "bridge")):
        ms = STEP["passes"] * sum(STEP[n] * done[n]["block_ms"] for n in ("video360", "audio", "bridge"))
        print(json.dumps({"config": "step360", "block_ms": round(ms, 3),
                          "composed": "2 x (40 video360 + 30 audio + 30 bridge)"}), flush=True)


if __name__ == "__main__":
    main()
