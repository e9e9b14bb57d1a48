"""STUB of diffusers.models.modeling_utils.ModelMixin: an nn.Module with .dtype/.device."""
import torch


class ModelMixin(torch.nn.Module):
    @property
    def dtype(self):
        for p in self.parameters():
            if p.is_floating_point():
                return p.dtype
        return torch.float32

    @property
    def device(self):
        for p in self.parameters():
            return p.device
        return torch.device("cpu")
