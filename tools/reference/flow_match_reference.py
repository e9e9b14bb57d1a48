#!/usr/bin/python3
"""Reference for MOVA's paired flow-matching schedule, written from upstream's formulas
(flow_match.py / flow_match_pair.py) in torch float32, as upstream computes them.

Prints JSON: timesteps [n], step deltas [n] (sigma_to - sigma_from with the training-grid
nearest-neighbour lookup, the last step to sigma 0) and the expert switch index.
Used by tests/pipeline/test_flow_match_scheduler.cc; needs Debian's python3-torch.
"""
import argparse
import json

import torch


def schedule(n, cfg):
    sigma_start = cfg["sigma_min"] + (cfg["sigma_max"] - cfg["sigma_min"]) * 1.0
    if cfg["extra_one_step"]:
        base = torch.linspace(sigma_start, cfg["sigma_min"], n + 1)[:-1]
    else:
        base = torch.linspace(sigma_start, cfg["sigma_min"], n)
    if cfg["inverse_timesteps"]:
        base = torch.flip(base, dims=[0])
    shift = cfg["shift"]
    sigmas = shift * base / (1 + (shift - 1) * base)
    if cfg["reverse_sigmas"]:
        sigmas = 1 - sigmas
    return sigmas, sigmas * cfg["num_train_timesteps"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--shift", type=float, default=3.0)
    p.add_argument("--sigma-min", type=float, default=0.003 / 1.002)
    p.add_argument("--sigma-max", type=float, default=1.0)
    p.add_argument("--extra-one-step", action="store_true")
    p.add_argument("--inverse-timesteps", action="store_true")
    p.add_argument("--reverse-sigmas", action="store_true")
    p.add_argument("--num-train-timesteps", type=int, default=1000)
    p.add_argument("--boundary-ratio", type=float, default=0.9)
    a = p.parse_args()
    cfg = dict(sigma_min=a.sigma_min, sigma_max=a.sigma_max, extra_one_step=a.extra_one_step,
               inverse_timesteps=a.inverse_timesteps, reverse_sigmas=a.reverse_sigmas,
               shift=a.shift, num_train_timesteps=a.num_train_timesteps)
    train_sigmas, train_t = schedule(a.num_train_timesteps, cfg)
    _, t = schedule(a.steps, cfg)

    def to_sigma(x):
        return train_sigmas[torch.argmin((train_t - x).abs())]

    end = 1.0 if (a.inverse_timesteps or a.reverse_sigmas) else 0.0
    deltas = []
    for i in range(a.steps):
        to = to_sigma(t[i + 1]) if i + 1 < a.steps else torch.tensor(end)
        deltas.append(float(to - to_sigma(t[i])))
    boundary = a.boundary_ratio * a.num_train_timesteps
    switch = next((i for i in range(a.steps) if float(t[i]) < boundary), a.steps)
    print(json.dumps({"timesteps": [float(x) for x in t], "deltas": deltas, "switch": switch}))


if __name__ == "__main__":
    main()
