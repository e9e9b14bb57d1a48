"""STUB of diffusers.utils.torch_utils.randn_tensor. The harness replaces the pipeline module's
`randn_tensor` with a queue of pre-drawn tensors; this default just draws torch.randn."""
import torch


def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)
