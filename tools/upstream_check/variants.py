#!/usr/bin/python3
"""Makes variants of a checkpoint whose dual_tower_bridge config flips one flag (the other components
are symlinks to the original), keeping only the tensors upstream's constructor expects (and adding
`condition_scale` for trainable_condition_scale), then runs `compare.py denoise B C D` on each.
  variants.py --upstream DIR --model DIR [--mova BINARY] [name ...]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))
import safetensors_np as st_io  # noqa: E402

VARIANTS = {
    "ffbias": {"apply_first_frame_bias_in_rope": True},
    "norope": {"apply_cross_rope": False},
    "shallow": {"interaction_strategy": "shallow_focus"},
    "distributed": {"interaction_strategy": "distributed"},
    "progressive": {"interaction_strategy": "progressive"},
    "custom": {"interaction_strategy": "custom"},
    "tcs": {"trainable_condition_scale": True},
    "afps": {"audio_fps": 44100.0 / 2048.0},
    "hd8": {"head_dim": 8},
    "hd32": {"head_dim": 32},
    "vl2": {"visual_layers": 2},
    "pooled": {"pooled_adaln": True},
}


def layers(cfg):
    n = min(cfg["visual_layers"], cfg["audio_layers"])
    s = cfg["interaction_strategy"]
    # mirrors CrossModalInteractionController only to decide which tensors to keep in the file;
    # whether that choice is right is checked by upstream's strict load_state_dict.
    return {"shallow_focus": list(range(min(10, n // 3))), "distributed": list(range(0, n, 3)),
            "progressive": list(range(min(8, n))) + (list(range(8, n, 3)) if n > 8 else []),
            "custom": [i for i in [0, 2, 4, 6, 8, 12, 16, 20] if i < n], "full": list(range(n))}[s]


def make(base, work, name, over):
    d = os.path.join(work, "var_" + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for c in os.listdir(base):
        if c != "dual_tower_bridge":
            os.symlink(os.path.join(base, c), os.path.join(d, c))
    cfg = json.load(open(os.path.join(base, "dual_tower_bridge", "config.json")))
    cfg.update(over)
    bd = os.path.join(d, "dual_tower_bridge")
    os.makedirs(bd)
    json.dump(cfg, open(os.path.join(bd, "config.json"), "w"), indent=2)
    w = st_io.read(os.path.join(base, "dual_tower_bridge", "diffusion_pytorch_model.safetensors"))
    keep = {str(i) for i in layers(cfg)}
    w = {k: v for k, v in w.items() if "." in k and k.split(".")[1] in keep}
    if cfg["trainable_condition_scale"]:
        w["condition_scale"] = np.array([0.37], np.float32)  # upstream's pipeline passes 1.0, which wins
    if cfg["pooled_adaln"]:
        g = np.random.default_rng(7)
        dv, da = cfg["visual_hidden_dim"], cfg["audio_hidden_dim"]
        for i in keep:
            p = f"video_to_audio_conditioners.{i}."
            for k, s in {"per_frame_pooling.probe": (1, 1, dv), "per_frame_pooling.attention.in_proj_weight": (3 * dv, dv),
                         "per_frame_pooling.attention.in_proj_bias": (3 * dv,),
                         "per_frame_pooling.attention.out_proj.weight": (dv, dv),
                         "per_frame_pooling.attention.out_proj.bias": (dv,),
                         "per_frame_pooling.layernorm.weight": (dv,), "per_frame_pooling.layernorm.bias": (dv,),
                         "adaln.linear.weight": (2 * da, dv), "adaln.linear.bias": (2 * da,)}.items():
                w[p + k] = (g.standard_normal(s) * 0.1).astype(np.float32)
    st_io.write(os.path.join(bd, "diffusion_pytorch_model.safetensors"), w)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="variants to run (default: all): " + ", ".join(VARIANTS))
    ap.add_argument("--upstream", default=os.environ.get("MOVA_UPSTREAM", ""))
    ap.add_argument("--model", required=True)
    ap.add_argument("--mova", default=None)
    a = ap.parse_args()
    for name in a.names:
        if name not in VARIANTS:
            sys.exit(f"unknown variant {name!r} (known: {', '.join(VARIANTS)})")
    work = tempfile.mkdtemp(prefix="mova_upstream_variants_")
    failed = []
    for name in a.names or list(VARIANTS):
        d = make(os.path.abspath(a.model), work, name, VARIANTS[name])
        print(f"=== variant {name}: {VARIANTS[name]}", flush=True)
        cmd = [sys.executable, os.path.join(HERE, "compare.py"), "denoise", "B", "C", "D", "--model", d,
               "--upstream", a.upstream, "--work", os.path.join(work, "out_" + name)]
        if subprocess.run(cmd + (["--mova", a.mova] if a.mova else [])).returncode != 0:
            failed.append(name)  # pooled: mova refuses pooled_adaln (exit 6), as expected
    if failed:
        sys.exit("variants that did not run through: " + ", ".join(failed))


if __name__ == "__main__":
    main()
