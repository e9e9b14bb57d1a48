class AutoencoderKLWan:  # STUB: type annotation only (the Wan VAE is not run here)
    pass
