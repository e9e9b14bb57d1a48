class FlowMatchEulerDiscreteScheduler:  # STUB: only registered by name in mova.diffusion.schedulers
    pass
