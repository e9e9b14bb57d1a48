class Registry:  # STUB: name -> class map
    def __init__(self, name, locations=None, **kw):
        self.name, self._m = name, {}

    def register_module(self, name=None, module=None, force=False):
        if module is not None:
            self._m[name or module.__name__] = module
            return module

        def deco(cls):
            self._m[name or cls.__name__] = cls
            return cls
        return deco

    def get(self, k):
        return self._m.get(k)
