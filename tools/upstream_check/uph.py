"""Upstream harness: loads a mova.cpp checkpoint folder into upstream MOVA's own classes
(WanModel, WanAudioModel, DualTowerConditionalBridge, FlowMatchPairScheduler, MOVA pipeline)
with strict state-dict loading. Only VAEs / text encoder / tokenizer are stubs (see below).
No upstream code is copied here: every numerical op is upstream's."""
import json
import os
import sys
import tempfile
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))

import upstream_shims  # noqa: F401  (must come first: sys.path + torch 2.x back-fills)
import numpy as np
import torch

import safetensors_np as st_io
from mova.diffusion.models import WanAudioModel, WanModel
from mova.diffusion.models.interactionv2 import DualTowerConditionalBridge
from mova.diffusion.pipelines import pipeline_mova
from mova.diffusion.schedulers.flow_match_pair import FlowMatchPairScheduler


def read_config(model, comp, name="config.json"):
    with open(os.path.join(model, comp, name)) as f:
        return json.load(f)


def ctor_kwargs(cfg):
    return {k: v for k, v in cfg.items() if not k.startswith("_")}


def load_weights(model, comp):
    d = os.path.join(model, comp)
    idx = [f for f in os.listdir(d) if f.endswith(".safetensors.index.json")]
    files = sorted(set(json.load(open(os.path.join(d, idx[0])))["weight_map"].values())) if idx else \
        [f for f in os.listdir(d) if f.endswith(".safetensors")]
    sd = {}
    for f in files:
        for k, v in st_io.read(os.path.join(d, f)).items():
            assert k not in sd, k
            sd[k] = torch.from_numpy(v.astype(np.float32, copy=False))
    return sd


def build(cls, model, comp, dtype, report, strict=True):
    cfg = read_config(model, comp)
    assert cfg["_class_name"] == cls.__name__, (comp, cfg["_class_name"])
    m = cls(**ctor_kwargs(cfg))
    sd = load_weights(model, comp)
    exp = m.state_dict()
    shape_bad = [(k, tuple(sd[k].shape), tuple(exp[k].shape)) for k in sd if k in exp and sd[k].shape != exp[k].shape]
    try:
        m.load_state_dict(sd, strict=True)
        res = "strict load OK"
    except RuntimeError as e:
        if strict:  # a model with random weights would only show up as an unexplained discrepancy
            raise SystemExit(f"{comp}: upstream's {cls.__name__} does not take this checkpoint: {e}")
        res = "STRICT LOAD FAILED: " + str(e)[:2000]
    report.append(f"{comp} ({cls.__name__}): {len(sd)} tensors in file, {len(exp)} expected; {res}"
                  + (f"; shape mismatches: {shape_bad}" if shape_bad else ""))
    return m.to(dtype).eval()


class _Obj:
    pass


class StubVideoVae:
    """Stands in for diffusers' AutoencoderKLWan (not runnable here). encode() returns the latent that
    the harness prepared (the de-normalised latent part of a given video_condition), checking that the
    pixel input is what upstream's prepare_latents builds; decode() records its input."""

    def __init__(self, model):
        c = read_config(model, "video_vae")
        self.config = types.SimpleNamespace(z_dim=c["z_dim"], latents_mean=c["latents_mean"],
                                            latents_std=c["latents_std"], scale_factor_spatial=8,
                                            scale_factor_temporal=4)
        self.dtype = torch.float32
        self.next_latent = None
        self.encode_inputs = []
        self.decoded = None

    def encode(self, video):
        self.encode_inputs.append(video.clone())
        o = _Obj()
        o.latents = self.next_latent
        return o

    def decode(self, z):
        self.decoded = z.clone()
        o = _Obj()
        o.sample = z
        return o


class StubAudioVae:
    """Stands in for the DAC (checked elsewhere): hop_length / sample_rate / latent_dim from its config;
    decode() records its input."""

    def __init__(self, model):
        c = read_config(model, "audio_vae")
        self.hop_length = int(np.prod(c["encoder_rates"]))
        self.sample_rate = c["sample_rate"]
        self.latent_dim = c["latent_dim"]
        self.decoded = None

    def decode(self, z):
        self.decoded = z.clone()
        return z


def build_pipeline(model, dtype=torch.float64, report=None, strict=True):
    """strict=False: a component that upstream's class does not take is reported, not fatal."""
    report = [] if report is None else report
    index = json.load(open(os.path.join(model, "model_index.json")))
    vd = build(WanModel, model, "video_dit", dtype, report, strict)
    vd2 = build(WanModel, model, "video_dit_2", dtype, report, strict)
    ad = build(WanAudioModel, model, "audio_dit", dtype, report, strict)
    br = build(DualTowerConditionalBridge, model, "dual_tower_bridge", dtype, report, strict)
    sc = read_config(model, "scheduler", "scheduler_config.json")
    assert sc["_class_name"] == "FlowMatchPairScheduler"
    sched = FlowMatchPairScheduler(**ctor_kwargs(sc))
    pipe = pipeline_mova.MOVA(video_vae=StubVideoVae(model), audio_vae=StubAudioVae(model), text_encoder=None,
                              tokenizer=None, scheduler=sched, video_dit=vd, video_dit_2=vd2, audio_dit=ad,
                              dual_tower_bridge=br, audio_vae_type=index.get("audio_vae_type", "dac"),
                              boundary_ratio=index["boundary_ratio"])
    return pipe, report


def init_dist():
    import torch.distributed as dist
    if not dist.is_initialized():
        path = os.path.join(tempfile.mkdtemp(prefix="mova_upstream_check_"), "pg_store")
        dist.init_process_group("gloo", init_method="file://" + path, rank=0, world_size=1)
