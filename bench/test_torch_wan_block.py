#!/usr/bin/python3
"""The PyTorch side of the CUDA benchmark times the right computation: torch_wan_block.py's
Block and BridgeLayer, run in float64 on the CPU at tiny sizes, against the float64 references
the engine is tested with (tools/reference: wan_dit_reference.Tower.block,
mova_reference.Bridge.apply), with the bench module's weights copied into the reference's
checkpoint names; and the script's own tiny CPU run prints what scripts/gpu-run.sh reads.

Tolerances: the bench keeps its residual stream in float32 (`.float()`, as upstream) and
computes the bridge's RoPE angles in float32 (as upstream's build_aligned_freqs), so it meets
the float64 references to float32 precision: max-rel 1e-5 for the block, 1e-4 for the bridge
(angles up to ~400 rad in float32 are off by ~3e-5 rad). Both are far below what a wrong
layout, a missing norm or a swapped RoPE convention produces (seen: 6e-2 to 0.86).
"""
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools", "reference"))
import torch_wan_block as bench  # noqa: E402
from mova_reference import Bridge  # noqa: E402
from wan_dit_reference import Tower  # noqa: E402

F = torch.float64


def max_rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def linear_weights(W, prefix, lin):
    W[prefix + ".weight"], W[prefix + ".bias"] = lin.weight.detach(), lin.bias.detach()


def check_block():
    L, D, H, ffn, T = 24, 64, 2, 96, 7
    torch.manual_seed(1)
    block = bench.Block(D, H, ffn).to(F)
    W = {}
    for name, mods in (("self_attn", block.self_qkvo), ("cross_attn", block.cross_qkvo)):
        for p, lin in zip("qkvo", mods):
            linear_weights(W, f"blocks.0.{name}.{p}", lin)
    norms = block.norms.detach()
    W["blocks.0.self_attn.norm_q.weight"], W["blocks.0.self_attn.norm_k.weight"] = norms[0], norms[1]
    W["blocks.0.cross_attn.norm_q.weight"], W["blocks.0.cross_attn.norm_k.weight"] = norms[2], norms[3]
    W["blocks.0.norm3.weight"], W["blocks.0.norm3.bias"] = block.norm3.weight.detach(), block.norm3.bias.detach()
    linear_weights(W, "blocks.0.ffn.0", block.ffn[0])
    linear_weights(W, "blocks.0.ffn.2", block.ffn[2])
    W["blocks.0.modulation"] = block.modulation.detach()

    x = torch.randn(1, L, D, dtype=F)
    context = torch.randn(1, T, D, dtype=F)
    t_mod = torch.randn(1, 6, D, dtype=F) * 0.1
    pairs = D // H // 2
    angles = torch.arange(L, dtype=F)[:, None] * 10000.0 ** (-torch.arange(pairs, dtype=F) / pairs)
    freqs = torch.polar(torch.ones_like(angles), angles).unsqueeze(1)
    with torch.no_grad():
        got = block(x, context, freqs, t_mod)[0]

    tower = Tower({"dim": D, "num_heads": H, "eps": 1e-6}, W, audio=False)
    tower.h, tower.ctx, tower.t_mod, tower.angles = x[0], context[0], t_mod[0], angles
    tower.block(0)
    return max_rel(got.to(F) - x[0], tower.h - x[0])  # the block's update, as for the bridge


def check_bridge():
    Lv, La, Dv, Da, hd = bench.BRIDGE_TINY["bridge"]
    torch.manual_seed(2)
    layer = bench.BridgeLayer(Dv, Da, hd).to(F)
    W = {}
    for prefix, block in (("audio_to_video_conditioners.0", layer.a2v),
                          ("video_to_audio_conditioners.0", layer.v2a)):
        W[prefix + ".y_norm.weight"] = block.y_norm.weight.detach()
        W[prefix + ".y_norm.bias"] = block.y_norm.bias.detach()
        for p in "qkvo":
            linear_weights(W, f"{prefix}.inner.{p}", getattr(block, p))
        W[prefix + ".inner.norm_q.weight"] = block.norms[0].detach()
        W[prefix + ".inner.norm_k.weight"] = block.norms[1].detach()

    video = torch.randn(1, Lv, Dv, dtype=F)
    audio = torch.randn(1, La, Da, dtype=F)
    per_frame = Lv // bench.LATENT_FRAMES
    video_pos = (torch.arange(Lv) // per_frame).float() * bench.AUDIO_STEPS_PER_LATENT_FRAME
    with torch.no_grad():
        got_v, got_a = layer(video, audio, bench.rotary(video_pos, hd, F),
                             bench.rotary(torch.arange(La).float(), hd, F))

    ref = Bridge.__new__(Bridge)
    ref.W = W
    ref.cfg = {"head_dim": hd, "audio_fps": 50.0, "apply_cross_rope": True}
    vr, ar = ref.rope(bench.LATENT_FRAMES, per_frame, La, 24.0)
    want_v, want_a = ref.apply(0, video[0], audio[0], vr, ar)
    # Compare the bridge's contributions, not the states they are added to (which would hide
    # an error in the small update behind the large residual).
    return (max_rel(got_v[0].to(F) - video[0], want_v - video[0]),
            max_rel(got_a[0].to(F) - audio[0], want_a - audio[0]))


def check_script():
    """The script's own run (tiny shapes, CPU): one JSON line per module, then the composed step
    gpu-run.sh divides by, equal to its formula over the lines above it."""
    out = subprocess.run([sys.executable, os.path.join(HERE, "torch_wan_block.py"), "--device",
                          "cpu", "--tiny", "--iters", "1"], check=True, capture_output=True,
                         text=True).stdout
    rows = {r["config"]: r for r in map(json.loads, out.splitlines())}
    if set(rows) != {"video360", "audio", "bridge", "step360"}:
        return f"configs {sorted(rows)}"
    want = 2 * (40 * rows["video360"]["block_ms"] + 30 * rows["audio"]["block_ms"]
                + 30 * rows["bridge"]["block_ms"])
    if abs(rows["step360"]["block_ms"] - want) > 1e-2 * max(want, 1e-3):
        return f"step360 {rows['step360']['block_ms']} ms, composed {want:.3f} ms"
    return None


def main():
    script = check_script()
    block = check_block()
    bridge_v, bridge_a = check_bridge()
    print(f"block max-rel {block:.2e} (bound 1e-5); bridge a2v {bridge_v:.2e}, "
          f"v2a {bridge_a:.2e} (bound 1e-4)")
    print("script run: " + (script or "video360, audio, bridge and the composed step360"))
    ok = block < 1e-5 and bridge_v < 1e-4 and bridge_a < 1e-4 and script is None
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
