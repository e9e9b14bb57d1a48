#!/usr/bin/python3
"""Float64 reference for MOVA's DAC audio VAE (upstream dac_vae.py, continuous), written from
docs/upstream/vae.md with torch.nn.functional, independently of the C++ code.

  dac_reference.py decode --model DIR --in IN --out OUT   (latents -> audio)
  dac_reference.py encode --model DIR --in IN --out OUT   (audio -> latents, posterior mean)
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


class Dac:
    def __init__(self, model):
        self.cfg, self.W = safetensors_np.load_component(
            model, "audio_vae", lambda v: torch.from_numpy(v).to(F))

    def weight(self, p):
        if p + ".weight" in self.W:
            return self.W[p + ".weight"]
        g, v = self.W[p + ".weight_g"], self.W[p + ".weight_v"]
        norm = v.flatten(1).norm(dim=1).reshape(-1, *([1] * (v.dim() - 1)))
        return g * v / norm

    def conv(self, x, p, **kw):
        return Fn.conv1d(x, self.weight(p), self.W[p + ".bias"], **kw)

    def snake(self, x, p):
        a = self.W[p + ".alpha"]
        return x + (a + 1e-9).reciprocal() * torch.sin(a * x) ** 2

    def res(self, x, p, d):
        y = self.conv(self.snake(x, p + ".block.0"), p + ".block.1", padding=3 * d, dilation=d)
        y = self.conv(self.snake(y, p + ".block.2"), p + ".block.3")
        pad = (x.shape[-1] - y.shape[-1]) // 2
        if pad > 0:
            x = x[..., pad:-pad]
        return x + y

    def decode(self, z):
        x = self.conv(z, "post_quant_conv")
        x = self.conv(x, "decoder.model.0", padding=3)
        rates = self.cfg["decoder_rates"]
        for i, s in enumerate(rates):
            p = f"decoder.model.{i + 1}.block"
            x = self.snake(x, p + ".0")
            x = Fn.conv_transpose1d(x, self.weight(p + ".1"), self.W[p + ".1.bias"], stride=s,
                                    padding=math.ceil(s / 2), output_padding=s % 2)
            for u, d in enumerate([1, 3, 9]):
                x = self.res(x, f"{p}.{u + 2}", d)
        x = self.snake(x, f"decoder.model.{len(rates) + 1}")
        x = self.conv(x, f"decoder.model.{len(rates) + 2}", padding=3)
        return torch.tanh(x)

    def encode(self, audio):
        hop = math.prod(self.cfg["encoder_rates"])
        n = audio.shape[-1]
        x = Fn.pad(audio, (0, (hop - n % hop) % hop))
        x = self.conv(x, "encoder.block.0", padding=3)
        rates = self.cfg["encoder_rates"]
        for i, s in enumerate(rates):
            p = f"encoder.block.{i + 1}.block"
            for u, d in enumerate([1, 3, 9]):
                x = self.res(x, f"{p}.{u}", d)
            x = self.snake(x, p + ".3")
            x = self.conv(x, p + ".4", stride=s, padding=math.ceil(s / 2))
        x = self.snake(x, f"encoder.block.{len(rates) + 1}")
        x = self.conv(x, f"encoder.block.{len(rates) + 2}", padding=1)
        h = self.conv(x, "quant_conv")
        return h[:, : h.shape[1] // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["decode", "encode"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    I = {k: torch.from_numpy(v).to(F) for k, v in safetensors_np.read(a.inp).items()}
    dac = Dac(a.model)
    with torch.no_grad():
        if a.stage == "decode":
            out = {"audio": dac.decode(I["latents"]).numpy()}
        else:
            out = {"latents": dac.encode(I["audio"]).numpy()}
    safetensors_np.write(a.out, out)
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
