#!/usr/bin/python3
"""Float64 reference for the Wan2.1 video VAE (diffusers AutoencoderKLWan), written with torch
conv3d from the full-sequence formulas in docs/upstream/vae.md, independently of the C++ code.

  wan_vae_reference.py encode|decode|condition --model DIR --in IN --out OUT [--frames N]
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402

F = torch.float64


class WanVae:
    def __init__(self, model):
        self.cfg, self.W = safetensors_np.load_component(
            model, "video_vae", lambda v: torch.from_numpy(v).to(F))

    def cconv(self, x, p, stride=(1, 1, 1)):
        """Causal conv3d on [1, C, T, H, W]: 2·pad_t zero frames in front, symmetric h/w."""
        w, b = self.W[p + ".weight"], self.W[p + ".bias"]
        kt, kh, kw = w.shape[2:]
        x = Fn.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2, kt - 1, 0))
        return Fn.conv3d(x, w, b, stride=stride)

    def rms(self, x, p):
        g = self.W[p].reshape(1, -1, 1, 1, 1)
        n = x.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return x / n * math.sqrt(x.shape[1]) * g

    def res(self, x, p):
        h = self.cconv(x, p + ".conv_shortcut") if p + ".conv_shortcut.weight" in self.W else x
        y = self.cconv(Fn.silu(self.rms(x, p + ".norm1.gamma")), p + ".conv1")
        y = self.cconv(Fn.silu(self.rms(y, p + ".norm2.gamma")), p + ".conv2")
        return y + h

    def attn(self, x, p):
        _, C, _, H, W = x.shape
        g = self.W[p + ".norm.gamma"].reshape(1, -1, 1, 1)

        def frame_attention(frames):  # [N, C, H, W], each frame on its own
            N = frames.shape[0]
            n = frames / frames.norm(dim=1, keepdim=True).clamp_min(1e-12) * math.sqrt(C) * g
            qkv = Fn.conv2d(n, self.W[p + ".to_qkv.weight"], self.W[p + ".to_qkv.bias"])
            q, k, v = qkv.reshape(N, 3 * C, H * W).transpose(1, 2).chunk(3, dim=-1)
            o = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(C), dim=-1) @ v  # [N, HW, C]
            o = o.transpose(1, 2).reshape(N, C, H, W)
            return Fn.conv2d(o, self.W[p + ".proj.weight"], self.W[p + ".proj.bias"])

        return x + self.per_frame(x, frame_attention)

    def mid(self, x, p):
        return self.res(self.attn(self.res(x, p + ".resnets.0"), p + ".attentions.0"),
                        p + ".resnets.1")

    def per_frame(self, x, fn):
        """fn over every frame of [B, C, T, H, W] as one [B·T, C, H, W] batch (the
        references are batch 1; the nano trainer batches clips)."""
        B, C, T, H, W = x.shape
        y = fn(x.permute(0, 2, 1, 3, 4).reshape(B * T, C, H, W))
        return y.reshape(B, T, *y.shape[1:]).permute(0, 2, 1, 3, 4)

    def down(self, x, p, temporal):
        w, b = self.W[p + ".resample.1.weight"], self.W[p + ".resample.1.bias"]
        y = self.per_frame(x, lambda f: Fn.conv2d(Fn.pad(f, (0, 1, 0, 1)), w, b, stride=2))
        if not temporal or y.shape[2] == 1:
            return y
        t = Fn.conv3d(y, self.W[p + ".time_conv.weight"], self.W[p + ".time_conv.bias"],
                      stride=(2, 1, 1))
        return torch.cat([y[:, :, :1], t], dim=2)

    def up(self, x, p, temporal):
        if temporal and x.shape[2] > 1:
            C = x.shape[1]
            d = self.cconv(x[:, :, 1:], p + ".time_conv")  # [1, 2C, T-1, H, W]
            a, b2 = d[:, :C], d[:, C:]
            inter = torch.stack([a, b2], dim=3).reshape(x.shape[0], C, -1, x.shape[3], x.shape[4])
            x = torch.cat([x[:, :, :1], inter], dim=2)
        w, b = self.W[p + ".resample.1.weight"], self.W[p + ".resample.1.bias"]
        return self.per_frame(x, lambda f: Fn.conv2d(
            Fn.interpolate(f, scale_factor=2.0, mode="nearest"), w, b, padding=1))

    def encode(self, v):
        cfg = self.cfg
        x = self.cconv(v, "encoder.conv_in")
        k = 0
        L = len(cfg["dim_mult"])
        for i in range(L):
            for _ in range(cfg["num_res_blocks"]):
                x = self.res(x, f"encoder.down_blocks.{k}")
                k += 1
            if i < L - 1:
                x = self.down(x, f"encoder.down_blocks.{k}", cfg["temperal_downsample"][i])
                k += 1
        x = self.mid(x, "encoder.mid_block")
        x = self.cconv(Fn.silu(self.rms(x, "encoder.norm_out.gamma")), "encoder.conv_out")
        x = self.cconv(x, "quant_conv")
        return x[:, : cfg["z_dim"]]

    def decode(self, z, clamp=True):
        cfg = self.cfg
        x = self.cconv(self.cconv(z, "post_quant_conv"), "decoder.conv_in")
        x = self.mid(x, "decoder.mid_block")
        L = len(cfg["dim_mult"])
        up_temporal = list(reversed(cfg["temperal_downsample"]))
        for i in range(L):
            p = f"decoder.up_blocks.{i}"
            for r in range(cfg["num_res_blocks"] + 1):
                x = self.res(x, f"{p}.resnets.{r}")
            if i < L - 1:
                x = self.up(x, p + ".upsamplers.0", up_temporal[i])
        x = self.cconv(Fn.silu(self.rms(x, "decoder.norm_out.gamma")), "decoder.conv_out")
        return x.clamp(-1, 1) if clamp else x

    def condition(self, image, frames):
        B, _, H, W = image.shape
        video = torch.cat([image[:, :, None],
                           torch.zeros(B, 3, frames - 1, H, W, dtype=image.dtype)], 2)
        z = self.encode(video)
        mean = torch.tensor(self.cfg["latents_mean"], dtype=F).reshape(1, -1, 1, 1, 1)
        std = torch.tensor(self.cfg["latents_std"], dtype=F).reshape(1, -1, 1, 1, 1)
        z = (z - mean) * (1.0 / std)
        mask = torch.ones(1, 1, frames, H // 8, W // 8, dtype=F)
        mask[:, :, 1:] = 0
        mask = torch.cat([mask[:, :, :1].repeat(1, 1, 4, 1, 1), mask[:, :, 1:]], dim=2)
        mask = mask.reshape(1, -1, 4, H // 8, W // 8).transpose(1, 2).to(z.dtype)
        return torch.cat([mask.expand(B, -1, -1, -1, -1), z], dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["encode", "decode", "condition"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=193)
    a = ap.parse_args()
    I = {k: torch.from_numpy(v).to(F) for k, v in safetensors_np.read(a.inp).items()}
    vae = WanVae(a.model)
    with torch.no_grad():
        if a.stage == "encode":
            out = {"latents": vae.encode(I["video"]).numpy()}
        elif a.stage == "decode":
            out = {"video": vae.decode(I["latents"]).numpy()}
        else:
            out = {"video_condition": vae.condition(I["image"], a.frames).numpy()}
    safetensors_np.write(a.out, out)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
