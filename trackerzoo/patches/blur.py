"""Photometric augmentation of image patches shared by the trackers' first-frame views."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2.5 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(image: torch.Tensor, sigma_x: float, sigma_y: float) -> torch.Tensor:
    """Separable Gaussian blur of ``[B, C, H, W]`` with replicated borders (size unchanged).

    ``sigma_x``, ``sigma_y`` in pixels (> 0); the kernel reaches 2.5 sigma (ATOM's first-frame blurs).
    """
    channels = image.shape[1]
    out = image
    for sigma, horizontal in ((sigma_x, True), (sigma_y, False)):
        kernel = _gaussian_kernel(sigma).to(image)
        length = kernel.numel()
        shape = (channels, 1, 1, length) if horizontal else (channels, 1, length, 1)
        pad = (length // 2, length // 2, 0, 0) if horizontal else (0, 0, length // 2, length // 2)
        out = F.conv2d(F.pad(out, pad, mode="replicate"), kernel.view(1, 1, *shape[2:]).expand(shape),
                       groups=channels)
    return out
