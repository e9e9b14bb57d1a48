#!/usr/bin/python3
"""Checks train_dit.py's compacted text context (run by ctest):

  test_train_dit.py MOVA_BINARY

On a fresh random nano checkpoint (`mova make-tiny --preset nano`), one joint denoiser step
with a zero-padded 512-row context and with its compacted form (real rows + one zero row
counted 512 − n times) must give the same velocities (max-rel 1e-5) and the same weight
gradients (max-rel 1e-4), for both video experts; a context that is not zero-padded at the
end must be passed through unchanged. The exported weights' moving average (ema_update) must
match its closed form after two updates (max-rel 1e-6). The learning-rate schedule must hold
--lr before --decay-from, fall linearly to --lr-final at --steps, and stay constant without
--decay-from. The motion-weighted video loss: a square that moves in only frames 9-12 of an
otherwise static 49-frame clip weights exactly the latent cells it covers (latent frame 3),
the weighted MSE under unit weights is the plain MSE, and frames that do not map onto the
latent grid are refused. val_dit's held-out losses: a denoiser off by 1 in one latent cell
reads video MSE 1/cells, and moving-cell MSE 1 exactly when that cell moves.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_dit  # noqa: E402


def max_rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def step(m, params, ctx, expert, compact):
    torch.manual_seed(1)
    z, cond, za = torch.randn(1, 16, 13, 8, 8), torch.randn(1, 20, 13, 8, 8), torch.randn(1, 16, 100)
    for W in params.values():
        for p in W.values():
            p.grad = None
    used = train_dit.set_context(m, ctx) if compact else ctx
    if not compact:
        for tower in [m.audio] + list(m.video.values()):
            tower.context_key_bias = None
    vv, va = m.step(expert, z, cond, za, used, 950.0 if expert == 1 else 300.0, 500.0, 24.0)
    ((vv ** 2).mean() + (va ** 2).mean()).backward()
    grads = {f"{c}/{k}": p.grad.clone() for c, W in params.items() for k, p in W.items()
             if p.grad is not None}
    return vv.detach(), va.detach(), grads


def check_ema(failures):
    torch.manual_seed(2)
    e0, p1, p2 = torch.randn(3, 5), torch.randn(3, 5), torch.randn(3, 5)
    d = 0.9
    ema, params = {"c": {"w": e0.clone()}}, {"c": {"w": p1.clone().requires_grad_(True)}}
    train_dit.ema_update(ema, params, d)
    params["c"]["w"] = p2
    train_dit.ema_update(ema, params, d)
    want = d * d * e0 + d * (1 - d) * p1 + (1 - d) * p2
    err = max_rel(ema["c"]["w"], want)
    print(f"moving average: max-rel {err:.2e}")
    if err > 1e-6:
        failures.append("ema_update differs from its closed form")


def check_learning_rate(failures):
    a = argparse.Namespace(lr=2e-4, lr_final=2e-5, decay_from=50000, steps=60000)
    want = {0: 2e-4, 49999: 2e-4, 50000: 2e-4, 55000: 1.1e-4, 60000: 2e-5, 61000: 2e-5}
    got = {s: train_dit.learning_rate(a, s) for s in want}
    a.decay_from = 0
    got_constant = train_dit.learning_rate(a, 55000)
    print(f"learning rate at {sorted(got)}: {[f'{got[s]:.3g}' for s in sorted(got)]}")
    if any(abs(got[s] - want[s]) > 1e-12 for s in want) or got_constant != 2e-4:
        failures.append(f"learning_rate: {got}, constant {got_constant}")


def check_motion_weights(failures):
    frames = np.full((49, 64, 64, 3), 90, np.uint8)
    frames[9:13, 18:22, 44:47] = (250, 30, 30)        # pixel rows 18-21 → latent row 2, cols 5
    w = train_dit.latent_motion_weights(frames, 5.0, (13, 8, 8))
    want = torch.ones(1, 1, 13, 8, 8)
    want[0, 0, 3, 2, 5] = 6.0                          # frames 9-12 form latent frame 3
    if w.shape != want.shape or not torch.equal(w, want):
        hot = [tuple(i) for i in (w != 1).nonzero().tolist()]
        failures.append(f"latent_motion_weights marks {hot}, not [(0, 0, 3, 2, 5)]")
    err = torch.randn(1, 16, 13, 8, 8)
    plain, unit = float((err ** 2).mean()), float(train_dit.weighted_mse(err, torch.ones_like(w)))
    print(f"motion weights: {int((w > 1).sum())} cell(s) weighted; unit-weight MSE {unit:.6f} "
          f"vs plain {plain:.6f}")
    if abs(unit - plain) > 1e-6 * plain:
        failures.append("weighted_mse under unit weights is not the plain MSE")
    try:
        train_dit.latent_motion_weights(frames[:48], 5.0, (13, 8, 8))
        failures.append("48 frames were mapped onto 13 latent frames")
    except ValueError:
        pass


def check_val_losses(failures):
    """val_dit.clip_losses on a stand-in denoiser that returns the exact velocity plus 1 on every
    channel of one latent cell: video MSE 1 / cells, moving-cell MSE 1 / moving cells when that
    cell moves (0 when it does not), audio MSE 0."""
    import val_dit
    frames = np.full((49, 64, 64, 3), 90, np.uint8)
    frames[9:13, 18:22, 44:47] = (250, 30, 30)        # moves in latent cell (3, 2, 5) only
    torch.manual_seed(3)
    z, za = torch.randn(1, 16, 13, 8, 8), torch.randn(1, 16, 100)

    class Stub:
        def __init__(self, cell):
            self.cell = cell

        def step(self, expert, xv, cond, xa, ctx, tv, ta, fps):
            s = tv / 1000.0
            vv = (xv - (1 - s) * z) / s - z
            vv[(0, slice(None)) + self.cell] += 1.0
            return vv, (xa - (1 - s) * za) / s - za

    clips = type("C", (), {"get": lambda self, i: (frames, None)})()
    lat = type("L", (), {"get": lambda self, i: (z, None, za, "")})()
    set_context, train_dit.set_context = train_dit.set_context, lambda m, ctx: ctx
    try:
        for cell, moving in (((3, 2, 5), 1.0), ((7, 0, 0), 0.0)):
            got = val_dit.clip_losses(Stub(cell), lat, clips, 0, None, [0.5, 1.0], 900.0)
            for s, (video, move, audio) in got.items():
                if (abs(video - 1 / 832) > 1e-8 or abs(move - moving) > 1e-5
                        or audio > 1e-9):  # 832 = 13 x 8 x 8 latent cells
                    failures.append(f"val_dit at sigma {s}, error in cell {cell}: video "
                                    f"{video:.3g}, moving {move:.3g}, audio {audio:.3g}")
    finally:
        train_dit.set_context = set_context
    print(f"val_dit losses: {got}")


def main():
    mova = sys.argv[1]
    failures = []
    check_ema(failures)
    check_motion_weights(failures)
    check_val_losses(failures)
    check_learning_rate(failures)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "nano")
        subprocess.run([mova, "-q", "make-tiny", model, "--preset", "nano", "--seed", "5"],
                       check=True)
        m, params = train_dit.build_denoiser(model)
        d = params["video_dit"]["text_embedding.0.weight"].shape[1]
        ctx = torch.zeros(1, 512, d)
        ctx[0, :19] = torch.randn(19, d)
        for expert in (1, 2):
            fv, fa, fg = step(m, params, ctx, expert, compact=False)
            cv, ca, cg = step(m, params, ctx, expert, compact=True)
            errs = {"video": max_rel(cv, fv), "audio": max_rel(ca, fa)}
            grad_err = max(max_rel(cg[k], fg[k]) for k in fg if fg[k].abs().max() > 0)
            print(f"expert {expert}: velocity max-rel video {errs['video']:.2e} audio "
                  f"{errs['audio']:.2e}; worst weight-gradient max-rel {grad_err:.2e}")
            if max(errs.values()) > 1e-5 or grad_err > 1e-4 or set(cg) != set(fg):
                failures.append(f"expert {expert}: compacted context differs")
        full = torch.randn(1, 512, d)
        out, log_count = train_dit.compact_context(full)
        if out is not full or log_count is not None:
            failures.append("a context without zero padding was compacted")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
