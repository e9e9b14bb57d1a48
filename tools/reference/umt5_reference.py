#!/usr/bin/python3
"""Float64 reference for the UMT5 encoder (transformers modeling_umt5.py) as MOVA uses it,
written from docs/upstream/umt5.md independently of the C++ code.

  umt5_reference.py --model DIR --in IN --out OUT
IN holds input_ids and attention_mask [1, L]; OUT gets context [1, L, d_model] with rows past
the real length zeroed.
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


def bucket(rel, num_buckets, max_distance):
    num_buckets //= 2
    ret = (rel > 0).long() * num_buckets
    n = rel.abs()
    max_exact = num_buckets // 2
    is_small = n < max_exact
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return ret + torch.where(is_small, n, large)


def rms(x, w, eps):
    return w * x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cfg, W = safetensors_np.load_component(a.model, "text_encoder",
                                           lambda v: torch.from_numpy(v).to(F))
    I = safetensors_np.read(a.inp)
    ids = torch.from_numpy(I["input_ids"]).long()[0]
    mask = torch.from_numpy(I["attention_mask"]).long()[0]
    L, H, dkv, eps = ids.shape[0], cfg["num_heads"], cfg["d_kv"], cfg["layer_norm_epsilon"]
    emb = W["shared.weight"] if "shared.weight" in W else W["encoder.embed_tokens.weight"]
    h = emb[ids]
    pos = torch.arange(L)
    buckets = bucket(pos[None, :] - pos[:, None], cfg["relative_attention_num_buckets"],
                     cfg["relative_attention_max_distance"])
    neg = torch.where(mask[None, :] > 0, 0.0, torch.finfo(torch.float32).min).to(F)
    with torch.no_grad():
        for i in range(cfg["num_layers"]):
            p = f"encoder.block.{i}.layer."
            x = rms(h, W[p + "0.layer_norm.weight"], eps)
            q = (x @ W[p + "0.SelfAttention.q.weight"].T).reshape(L, H, dkv).transpose(0, 1)
            k = (x @ W[p + "0.SelfAttention.k.weight"].T).reshape(L, H, dkv).transpose(0, 1)
            v = (x @ W[p + "0.SelfAttention.v.weight"].T).reshape(L, H, dkv).transpose(0, 1)
            bias = W[p + "0.SelfAttention.relative_attention_bias.weight"][buckets].permute(2, 0, 1)
            s = q @ k.transpose(1, 2) + bias + neg
            o = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(L, H * dkv)
            h = h + o @ W[p + "0.SelfAttention.o.weight"].T
            y = rms(h, W[p + "1.layer_norm.weight"], eps)
            g = gelu_tanh(y @ W[p + "1.DenseReluDense.wi_0.weight"].T)
            u = y @ W[p + "1.DenseReluDense.wi_1.weight"].T
            h = h + (g * u) @ W[p + "1.DenseReluDense.wo.weight"].T
        out = rms(h, W["encoder.final_layer_norm.weight"], eps)
        out[int(mask.sum()):] = 0
    safetensors_np.write(a.out, {"context": out[None].numpy()})
    print(json.dumps({"ok": True}))


if __name__ == "__main__":
    main()
