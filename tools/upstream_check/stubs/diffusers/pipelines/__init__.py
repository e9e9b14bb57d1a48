"""STUB of diffusers.pipelines.DiffusionPipeline: ConfigMixin + register_modules (setattr)."""
import torch
from diffusers.configuration_utils import ConfigMixin


class DiffusionPipeline(ConfigMixin):
    def __init__(self):
        pass

    def register_modules(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)

    @property
    def _execution_device(self):
        return torch.device("cpu")
