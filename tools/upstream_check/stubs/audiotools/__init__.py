class AudioSignal:  # STUB: type only (DAC is not run here)
    pass
