#!/usr/bin/python3
"""Runs mova.cpp's `eval` stages and upstream MOVA's own code on the same inputs and prints max-abs /
max-rel errors per output (README.md here says how to get upstream's source and what to expect).

  compare.py load          strict state-dict load of every DiT / bridge component into upstream's classes
  compare.py schedule N..  eval schedule vs the timesteps and experts of upstream's __call__ loop
  compare.py denoise [case ...]
                           eval denoise-step vs MOVA.inference_single_step (float64)
  compare.py sample STEPS CFG
                           eval sample vs upstream's MOVA.__call__ (float32 models, its exact code path)
                           and vs the same call sequence in float64
Options: --upstream DIR (holds the `mova` package; or $MOVA_UPSTREAM), --model DIR (a checkpoint, e.g.
from `mova make-tiny DIR --dtype f32`), --mova BINARY (default build/bin/mova), --work DIR (scratch).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
import safetensors_np as st_io  # noqa: E402

uph = None  # imported in main(), once MOVA_UPSTREAM is set
ENGINE = os.path.join(REPO, "build", "bin", "mova")


def engine(stage, model, inp, out, sets):
    cmd = [ENGINE, "-t", "2", "-q", "eval", stage, "--model", model, "--out", out]
    if inp:
        cmd += ["--in", inp]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True)
    return {k: torch.from_numpy(v.astype(np.float64)) for k, v in st_io.read(out).items()}


def err(name, got, ref):
    got, ref = got.double(), ref.double()
    assert got.shape == ref.shape, (name, tuple(got.shape), tuple(ref.shape))
    a = (got - ref).abs().max().item()
    m = ref.abs().max().item()
    flag = "  <-- DISCREPANCY" if a / max(m, 1e-30) >= 1e-3 else ""
    print(f"    {name:<34} shape {str(tuple(ref.shape)):<22} max|ref| {m:9.4g}  max abs err {a:9.3g}  "
          f"max rel err {a / max(m, 1e-30):9.3g}{flag}")
    return a / max(m, 1e-30)


def npd(d):
    return {k: v.detach().cpu().numpy() for k, v in d.items()}


# ------------------------------------------------------------------------------------------------
def cmd_load(a):
    _, rep = uph.build_pipeline(a.model, strict=False)
    print("\n".join(rep))


# ------------------------------------------------------------------------------------------------
def upstream_schedule(pipe, n):
    """Runs upstream MOVA.__call__ with a recording stand-in for the model call (returns ones), so the
    paired timesteps, the expert choice and scheduler.step_from_to's (sigma_to - sigma_from) all come
    from upstream's own loop."""
    rec = {"t": [], "ta": [], "expert": [], "dv": [], "da": []}
    sched = pipe.scheduler

    def fake_step(visual_dit, visual_latents, audio_latents, context, timestep, audio_timestep, video_fps, cp_mesh=None):
        rec["t"].append(float(timestep[0]))
        rec["ta"].append(float(audio_timestep[0]))
        rec["expert"].append(1 if visual_dit is pipe.video_dit else 2 if visual_dit is pipe.video_dit_2 else 0)
        return (torch.ones(visual_latents.shape[0], 16, *visual_latents.shape[2:]), torch.ones_like(audio_latents))

    orig = sched.step_from_to

    def rec_step(model_output, timestep_from, timestep_to, sample):
        out = orig(model_output, timestep_from, timestep_to, sample)
        key = "dv" if sample.dim() == 5 else "da"
        # model_output is all ones: out - sample == sigma_to - sigma_from (float32 arithmetic as upstream)
        d = orig(torch.ones(1), timestep_from, timestep_to, torch.zeros(1))
        rec[key].append(float(d[0]))
        return out

    pipe.inference_single_step = fake_step
    sched.step_from_to = rec_step
    pipe._get_t5_prompt_embeds = lambda p, *x, **k: torch.zeros(1, 4, 48)
    pipe.video_vae.next_latent = torch.zeros(1, 16, 1, 2, 2)
    uph.pipeline_mova.randn_tensor = lambda shape, **k: torch.zeros(shape)
    pipe(prompt="p", image=torch.zeros(1, 3, 16, 16), height=16, width=16, num_frames=1, video_fps=24.0,
         num_inference_steps=n, cfg_scale=1.0)
    del pipe.inference_single_step
    sched.step_from_to = orig
    pairs = sched.get_pairs()
    return rec, pairs


def cmd_schedule(a):
    uph.init_dist()
    pipe, _ = uph.build_pipeline(a.model, torch.float32)
    worst = 0
    for n in a.args:
        n = int(n)
        rec, pairs = upstream_schedule(pipe, n)
        e = engine("schedule", a.model, None, os.path.join(a.work, f"sched{n}.safetensors"), [f"steps={n}"])
        print(f"  steps={n}: upstream pairs {tuple(pairs.shape)}, "
              f"video_dit_2 from step {rec['expert'].index(2) if 2 in rec['expert'] else 'never'} "
              f"(engine: {int((e['expert'] == 1).sum())})")
        ref_t = torch.tensor(np.stack([rec["t"], rec["ta"]], 1))
        assert torch.equal(ref_t.float(), pairs.float()), "loop timesteps differ from get_pairs()"
        worst = max(worst, err("timesteps", e["timesteps"], ref_t))
        worst = max(worst, err("step_deltas", e["step_deltas"], torch.tensor(np.stack([rec["dv"], rec["da"]], 1))))
        ex = torch.tensor(rec["expert"], dtype=torch.float64)
        same = torch.equal(e["expert"], ex)
        print(f"    expert sequence identical: {same}" + ("" if same else f"  engine {e['expert'].tolist()} upstream {ex.tolist()}"))
        print(f"    upstream t[:4] {[round(x, 4) for x in rec['t'][:4]]} ... t[-2:] {[round(x, 4) for x in rec['t'][-2:]]}")
    print(f"  worst rel err {worst:.3g}")


# ------------------------------------------------------------------------------------------------
CASES = {
    # name: (T, H, W, L, S, t, ta, expert, fps)
    "A": (2, 4, 6, 11, 5, 999.0, 999.0, 1, 24.0),
    "B": (3, 6, 10, 17, 7, 923.4, 611.7, 1, 24.0),
    "C": (4, 8, 4, 29, 13, 500.25, 780.0, 2, 24.0),
    "D": (5, 4, 8, 40, 3, 300.0, 300.0, 2, 16.0),
    "E": (7, 12, 16, 53, 19, 871.3, 871.3, 2, 24.0),
    # longer clips (larger cross-RoPE positions), used with the mid preset
    "M": (9, 8, 8, 200, 11, 912.5, 412.0, 1, 24.0),
    "N": (13, 4, 6, 260, 6, 250.0, 250.0, 2, 30.0),
}


def cmd_denoise(a):
    pipe, rep = uph.build_pipeline(a.model, torch.float64)
    print("  " + rep[-1])
    br = pipe.dual_tower_bridge
    print(f"  bridge: interaction layers {[i for i, _ in br.interaction_mapping['a2v']]}, head_dim {br.head_dim}, "
          f"cross_rope {br.apply_cross_rope}, first_frame_bias {br.apply_first_frame_bias_in_rope}, "
          f"audio_fps {br.audio_fps:.6g}, condition_scale {br.condition_scale}")
    vcfg = uph.read_config(a.model, "video_dit")
    acfg = uph.read_config(a.model, "audio_dit")
    worst = 0
    for name in (a.args or list("ABCDE")):
        T, H, W, L, S, t, ta, expert, fps = CASES[name]
        g = np.random.default_rng(ord(name))  # stable across runs (str hashes are not)
        inp = {
            "video_latents": g.standard_normal((1, vcfg["out_dim"], T, H, W)).astype(np.float32),
            "video_condition": g.standard_normal((1, vcfg["in_dim"] - vcfg["out_dim"], T, H, W)).astype(np.float32),
            "audio_latents": g.standard_normal((1, acfg["in_dim"], L)).astype(np.float32),
            "context": g.standard_normal((1, S, vcfg["text_dim"])).astype(np.float32),
            "timestep": np.array([t], np.float32),
            "audio_timestep": np.array([ta], np.float32),
        }
        p = os.path.join(a.work, f"denoise_{name}.in.safetensors")
        st_io.write(p, inp)
        e = engine("denoise-step", a.model, p, os.path.join(a.work, f"denoise_{name}.out.safetensors"),
                   [f"expert={expert}", f"fps={fps}"])
        I = {k: torch.from_numpy(v.astype(np.float64)) for k, v in inp.items()}
        with torch.no_grad():
            vv, av = pipe.inference_single_step(
                visual_dit=pipe.video_dit if expert == 1 else pipe.video_dit_2,
                visual_latents=torch.cat([I["video_latents"], I["video_condition"]], dim=1),
                audio_latents=I["audio_latents"], context=I["context"], timestep=I["timestep"],
                audio_timestep=I["audio_timestep"], video_fps=fps)
        print(f"  case {name}: video [1,16,{T},{H},{W}] audio [1,{acfg['in_dim']},{L}] context [1,{S},{vcfg['text_dim']}] "
              f"t={t} ta={ta} expert={expert} fps={fps}")
        worst = max(worst, err("video_velocity", e["video_velocity"], vv))
        worst = max(worst, err("audio_velocity", e["audio_velocity"], av))
    print(f"  worst rel err {worst:.3g}")
    return worst


# ------------------------------------------------------------------------------------------------
def make_sample_inputs(a, num_frames, H, W, S, tag):
    g = np.random.default_rng(1234)
    acfg = uph.read_config(a.model, "audio_dit")
    td = uph.read_config(a.model, "video_dit")["text_dim"]
    vae = uph.StubAudioVae(a.model)
    fps = a.fps
    L = (int(vae.sample_rate * num_frames / fps) - 1) // vae.hop_length + 1
    T = (num_frames - 1) // 4 + 1
    image = g.uniform(-1, 1, (1, 3, H, W)).astype(np.float32)
    ip = os.path.join(a.work, f"{tag}.image.safetensors")
    st_io.write(ip, {"image": image})
    cond = engine("image-condition", a.model, ip, os.path.join(a.work, f"{tag}.cond.safetensors"),
                  [f"frames={num_frames}"])["video_condition"].float().numpy()
    assert cond.shape == (1, 20, T, H // 8, W // 8), cond.shape
    inp = {
        "video_noise": g.standard_normal((1, 16, T, H // 8, W // 8)).astype(np.float32),
        "audio_noise": g.standard_normal((1, acfg["in_dim"], L)).astype(np.float32),
        "video_condition": cond,
        "context": g.standard_normal((1, S, td)).astype(np.float32),
        "negative_context": g.standard_normal((1, S + 3, td)).astype(np.float32),
    }
    return inp, image


def upstream_call(pipe, I, image, num_frames, H, W, steps, cfg, fps):
    """The real MOVA.__call__: noise comes through (patched) randn_tensor in the order upstream draws
    it (video, then audio), the VAE encode stub returns the de-normalised latent part of the engine's
    video_condition, prompt embeddings are the given contexts."""
    dt = next(pipe.video_dit.parameters()).dtype
    vae = pipe.video_vae
    mean = torch.tensor(vae.config.latents_mean, dtype=torch.float64).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std, dtype=torch.float64).view(1, -1, 1, 1, 1)
    vae.next_latent = (I["video_condition"][:, 4:].double() * std + mean)
    queue = [I["video_noise"], I["audio_noise"]]

    def randn(shape, generator=None, device=None, dtype=None):
        x = queue.pop(0)
        assert tuple(x.shape) == tuple(shape), (tuple(x.shape), shape)
        return x.to(dtype)
    uph.pipeline_mova.randn_tensor = randn
    ctx = {"POS": I["context"].to(dt), "NEG": I["negative_context"].to(dt)}
    pipe._get_t5_prompt_embeds = lambda prompt, *x, **k: ctx[prompt]
    rec = {}
    orig_prep = pipe.prepare_latents

    def prep(*args, **kw):
        r = orig_prep(*args, **kw)
        rec["condition"] = r[1].clone()
        return r
    pipe.prepare_latents = prep
    orig_denorm = pipe.denormalize_video_latents

    def denorm(z):
        rec["video_latents"] = z.clone()
        return orig_denorm(z)
    pipe.denormalize_video_latents = denorm
    experts = []
    orig_iss = pipe.inference_single_step

    def iss(visual_dit, *args, **kw):
        experts.append(1 if visual_dit is pipe.video_dit else 2)
        return orig_iss(visual_dit, *args, **kw)
    pipe.inference_single_step = iss
    with torch.no_grad():
        pipe(prompt="POS", image=image, negative_prompt="NEG", height=H, width=W, num_frames=num_frames,
             video_fps=fps, num_inference_steps=steps, cfg_scale=cfg)
    for k in ("prepare_latents", "denormalize_video_latents", "inference_single_step", "_get_t5_prompt_embeds"):
        delattr(pipe, k)
    rec["audio_latents"] = pipe.audio_vae.decoded
    rec["pixel_condition"] = vae.encode_inputs[-1]
    rec["experts"] = experts[::(1 if cfg == 1 else 2)]
    return rec


def upstream_f64_sequence(pipe, I, image, num_frames, H, W, steps, cfg, fps, pairs_override=None):
    """Same call sequence as MOVA.__call__, in float64 throughout, each numerical step by upstream's
    functions (set_timesteps/get_pairs, prepare_latents, prepare_audio_latents, inference_single_step,
    step_from_to)."""
    f = torch.float64
    vae = pipe.video_vae
    mean = torch.tensor(vae.config.latents_mean, dtype=f).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std, dtype=f).view(1, -1, 1, 1, 1)
    vae.next_latent = I["video_condition"][:, 4:].double() * std + mean
    sched = pipe.scheduler
    sched.set_timesteps(steps)
    pairs = sched.get_pairs() if pairs_override is None else pairs_override
    latents, condition = pipe.prepare_latents(image, 1, 16, H, W, num_frames, f, torch.device("cpu"),
                                              latents=I["video_noise"].double())
    audio = pipe.prepare_audio_latents(None, 1, pipe.audio_vae.latent_dim,
                                       int(pipe.audio_sample_rate * num_frames / fps), f, torch.device("cpu"),
                                       latents=I["audio_noise"].double())
    pos, neg = I["context"].double(), I["negative_context"].double()
    cur, switched = pipe.video_dit, False
    boundary = pipe.boundary_ratio * sched.config.num_train_timesteps
    for i in range(pairs.shape[0]):
        t, ta = pairs[i]
        if not switched and t.item() < boundary:
            cur, switched = pipe.video_dit_2, True
        x = torch.cat([latents, condition], dim=1)
        tt, tta = t.unsqueeze(0).to(f), ta.unsqueeze(0).to(f)
        with torch.no_grad():
            vp, ap = pipe.inference_single_step(cur, x, audio, pos, tt, tta, fps)
            if cfg != 1.0:
                vn, an = pipe.inference_single_step(cur, x, audio, neg, tt, tta, fps)
                vp = vn + cfg * (vp - vn)
                ap = an + cfg * (ap - an)
        nt = pairs[i + 1, 0] if i + 1 < pairs.shape[0] else None
        nta = pairs[i + 1, 1] if i + 1 < pairs.shape[0] else None
        latents = sched.step_from_to(vp, t, nt, latents)
        audio = sched.step_from_to(ap, ta, nta, audio)
    return {"video_latents": latents, "audio_latents": audio, "condition": condition}


def cmd_sample(a):
    steps, cfg = int(a.args[0]), float(a.args[1])
    num_frames, H, W, S = a.frames, a.height, a.width, 9
    tag = f"sample_s{steps}_c{cfg:g}_f{num_frames}_{H}x{W}"
    inp, image = make_sample_inputs(a, num_frames, H, W, S, tag)
    p = os.path.join(a.work, f"{tag}.in.safetensors")
    st_io.write(p, inp)
    e = engine("sample", a.model, p, os.path.join(a.work, f"{tag}.out.safetensors"),
               [f"steps={steps}", f"cfg={cfg:g}", f"fps={a.fps:g}"])
    I = {k: torch.from_numpy(v) for k, v in inp.items()}
    img = torch.from_numpy(image)
    uph.init_dist()
    print(f"  sample steps={steps} cfg={cfg:g} fps={a.fps:g}: frames {num_frames} {H}x{W} -> video "
          f"{list(inp['video_noise'].shape)} audio {list(inp['audio_noise'].shape)}, context S={S}, negative S={S + 3}")
    # A: the genuine __call__, float32 models
    pipe32, _ = uph.build_pipeline(a.model, torch.float32)
    A = upstream_call(pipe32, I, img, num_frames, H, W, steps, cfg, a.fps)
    print(f"    upstream __call__ experts per step: {A['experts']}")
    px = A["pixel_condition"]
    ok_px = torch.equal(px[:, :, 0], img) and bool((px[:, :, 1:] == 0).all()) and px.shape[2] == num_frames
    print(f"    pixel clip handed to the VAE encoder = [image, {num_frames - 1} zero frames]: {ok_px}")
    m_eng, m_up = I["video_condition"][:, :4], A["condition"][:, :4]
    print(f"    mask channels (upstream prepare_latents vs engine image-condition) identical: {torch.equal(m_eng, m_up)}")
    err("condition latent part (A, f32)", I["video_condition"][:, 4:], A["condition"][:, 4:])
    # B: float64 call sequence
    pipe64, _ = uph.build_pipeline(a.model, torch.float64)
    B = upstream_f64_sequence(pipe64, I, img, num_frames, H, W, steps, cfg, a.fps)
    print("    engine vs upstream float64 call sequence:")
    w = max(err("video_latents", e["video_latents"], B["video_latents"]),
            err("audio_latents", e["audio_latents"], B["audio_latents"]))
    if a.engine_timesteps:
        es = engine("schedule", a.model, None, os.path.join(a.work, f"{tag}.sched.safetensors"), [f"steps={steps}"])
        B2 = upstream_f64_sequence(pipe64, I, img, num_frames, H, W, steps, cfg, a.fps,
                                   pairs_override=es["timesteps"].float())
        print("    engine vs upstream float64 call sequence fed the ENGINE's float32 timestep values:")
        err("video_latents", e["video_latents"], B2["video_latents"])
        err("audio_latents", e["audio_latents"], B2["audio_latents"])
        print("    upstream float64: upstream timesteps vs engine timesteps (effect of 1-ulp timestep differences):")
        err("video_latents", B2["video_latents"], B["video_latents"])
        err("audio_latents", B2["audio_latents"], B["audio_latents"])
    print("    engine vs upstream __call__ (float32 models):")
    err("video_latents", e["video_latents"], A["video_latents"])
    err("audio_latents", e["audio_latents"], A["audio_latents"])
    print("    upstream __call__ f32 vs float64 sequence (rounding floor):")
    err("video_latents", A["video_latents"], B["video_latents"])
    err("audio_latents", A["audio_latents"], B["audio_latents"])
    return w


def main():
    global uph, ENGINE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["load", "schedule", "denoise", "sample"])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--upstream", default=os.environ.get("MOVA_UPSTREAM", ""),
                    help="upstream MOVA's source: the folder holding the `mova` package")
    ap.add_argument("--model", required=True, help="checkpoint folder (mova make-tiny ... --dtype f32)")
    ap.add_argument("--mova", default=ENGINE, help="the mova binary")
    ap.add_argument("--work", default=None, help="scratch folder (default: a new temporary one)")
    ap.add_argument("--fps", type=float, default=24.0)
    ap.add_argument("--frames", type=int, default=25)
    ap.add_argument("--height", type=int, default=96)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--engine-timesteps", action="store_true",
                    help="sample: also run the float64 sequence on the engine's timestep values")
    a = ap.parse_args()
    if not a.upstream:
        sys.exit("say where upstream's source is: --upstream DIR or MOVA_UPSTREAM=DIR (README.md)")
    os.environ["MOVA_UPSTREAM"] = os.path.abspath(a.upstream)
    import uph as harness  # noqa: E402  (imports upstream's modules)
    uph = harness
    ENGINE = a.mova
    if not os.access(ENGINE, os.X_OK):
        sys.exit(f"{ENGINE}: no mova binary there (build it, or pass --mova)")
    a.work = a.work or tempfile.mkdtemp(prefix="mova_upstream_check_")
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(2)
    {"load": cmd_load, "schedule": cmd_schedule, "denoise": cmd_denoise, "sample": cmd_sample}[a.cmd](a)


if __name__ == "__main__":
    main()
