#!/usr/bin/env python3
"""Upstream's initial noise on this GPU, for mova_cuda_tests' CudaTorchRandn.HostNoiseMatchesPyTorch:
torch.manual_seed(42), then torch.randn for the 360p video latent and the audio latent on CUDA,
as MOVA's pipeline draws them, written as raw float32 (video, then audio) to OUT.

  torch_randn.py OUT
"""
import array
import sys

import torch


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    torch.manual_seed(42)
    video = torch.randn(1, 16, 49, 45, 80, device="cuda", dtype=torch.float32)
    audio = torch.randn(1, 128, 403, device="cuda", dtype=torch.float32)
    with open(sys.argv[1], "wb") as f:
        for t in (video, audio):
            array.array("f", t.flatten().cpu().tolist()).tofile(f)
    print(f"{sys.argv[1]}: torch {torch.__version__} on {torch.cuda.get_device_name(0)}")


if __name__ == "__main__":
    main()
