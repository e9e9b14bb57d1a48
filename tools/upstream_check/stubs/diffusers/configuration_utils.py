"""STUB of diffusers.configuration_utils: ConfigMixin stores constructor kwargs as `.config`
(attribute access, like diffusers' FrozenDict); register_to_config wraps __init__."""
import functools
import inspect


class _Config(dict):
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError as e:
            raise AttributeError(k) from e


class ConfigMixin:
    config_name = "config.json"

    def register_to_config(self, **kwargs):
        d = self.__dict__.get("_internal_dict")
        if d is None:
            d = _Config()
            object.__setattr__(self, "_internal_dict", d)
        d.update(kwargs)

    @property
    def config(self):
        d = self.__dict__.get("_internal_dict")
        return d if d is not None else _Config()


def register_to_config(init):
    sig = inspect.signature(init)

    @functools.wraps(init)
    def inner(self, *args, **kwargs):
        params = [p for i, p in enumerate(sig.parameters.values()) if i > 0]
        cfg = {}
        for p, a in zip(params, args):
            cfg[p.name] = a
        for p in params:
            if p.name not in cfg and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                cfg[p.name] = kwargs.get(p.name, p.default)
        init(self, *args, **kwargs)
        ConfigMixin.register_to_config(self, **cfg)

    return inner
