"""Import this before any `mova` module. Puts the stub packages and upstream's source (the folder
holding the `mova` package, from the environment variable MOVA_UPSTREAM) on sys.path and back-fills the torch 2.x APIs that upstream MOVA uses but torch 1.13 lacks:
  * torch.compile            -> identity decorator (upstream only uses it as @torch.compile(fullgraph=True))
  * torch.nn.RMSNorm         -> torch 2.x semantics: y = (x * rsqrt(mean(x^2, -1) + eps)).type_as(x) * weight,
                                reduction done in float32 for half types (opmath), eps=None -> finfo.eps
  * F.scaled_dot_product_attention -> softmax(q k^T * scale [+ mask]) v in the input dtype (float64 here)
  * torch.distributed.tensor.DTensor, torch.distributed.device_mesh.DeviceMesh -> empty classes
    (only used in isinstance checks / annotations; never instantiated)
"""
import math
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = os.environ.get("MOVA_UPSTREAM", "")
if not os.path.isfile(os.path.join(UPSTREAM, "mova", "diffusion", "pipelines", "pipeline_mova.py")):
    sys.exit(f"MOVA_UPSTREAM={UPSTREAM!r} is not a checkout of OpenMOSS/MOVA (no mova/diffusion/pipelines/"
             "pipeline_mova.py there); pass --upstream DIR")
sys.path.insert(0, UPSTREAM)
sys.path.insert(0, os.path.join(HERE, "stubs"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

if not hasattr(torch, "compile"):
    def _compile(fn=None, **kw):
        return fn if fn is not None else (lambda f: f)
    torch.compile = _compile

if not hasattr(nn, "RMSNorm"):
    class RMSNorm(nn.Module):
        def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
            super().__init__()
            if isinstance(normalized_shape, int):
                normalized_shape = (normalized_shape,)
            self.normalized_shape = tuple(normalized_shape)
            self.eps = eps
            self.elementwise_affine = elementwise_affine
            if elementwise_affine:
                self.weight = nn.Parameter(torch.ones(self.normalized_shape, device=device, dtype=dtype))
            else:
                self.register_parameter("weight", None)

        def forward(self, x):
            dims = tuple(range(-len(self.normalized_shape), 0))
            up = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
            eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
            y = (up * torch.rsqrt(up.pow(2).mean(dim=dims, keepdim=True) + eps)).type_as(x)
            if self.weight is not None:
                y = y * self.weight
            return y
    nn.RMSNorm = RMSNorm

if not hasattr(F, "scaled_dot_product_attention"):
    def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
        assert dropout_p == 0.0 and not is_causal
        s = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
        a = torch.matmul(q, k.transpose(-2, -1)) * s
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                a = a.masked_fill(~attn_mask, float("-inf"))
            else:
                a = a + attn_mask
        return torch.matmul(torch.softmax(a, dim=-1), v)
    F.scaled_dot_product_attention = scaled_dot_product_attention

for name, cls in (("torch.distributed.tensor", "DTensor"), ("torch.distributed.device_mesh", "DeviceMesh")):
    try:
        __import__(name)
    except ImportError:
        m = types.ModuleType(name)
        setattr(m, cls, type(cls, (), {}))
        sys.modules[name] = m
        setattr(torch.distributed, name.rsplit(".", 1)[1], m)

# mova/diffusion/pipelines/__init__.py also imports the training / LoRA pipelines (accelerate, bnb, ...).
# Register the package without running its __init__ so that pipeline_mova can be imported alone.
_pk = "mova.diffusion.pipelines"
if _pk not in sys.modules:
    import mova.diffusion  # noqa: F401,E402
    m = types.ModuleType(_pk)
    m.__path__ = [os.path.join(UPSTREAM, "mova", "diffusion", "pipelines")]
    sys.modules[_pk] = m

# torch 1.13 CPU-only build: torch.autocast("cuda", dtype=torch.bfloat16) (MOVA.__call__ wraps the video
# VAE decode in it, after the denoising loop) raises instead of disabling itself. On a machine without
# CUDA, turn any "cuda" autocast into a disabled (no-op) autocast -- which is what torch does anyway
# for the float32 "cuda" autocast in inference_single_step (it warns and disables).
if not torch.cuda.is_available():
    _Autocast = torch.autocast

    class _NoCudaAutocast(_Autocast):
        def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
            if device_type == "cuda":
                device_type, dtype, enabled = "cpu", None, False
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
    torch.autocast = _NoCudaAutocast
