# STUB (not diffusers): minimal pieces of diffusers' API that MOVA's modules import.
