def apply_forward_hook(fn):  # STUB: identity decorator
    return fn
