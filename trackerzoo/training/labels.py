"""Dense training labels built from boxes in patch coordinates.

Siamese heads (SiamFC-style centre maps, IBFP's centre branch) and DiMP-style target
models are trained against a Gaussian centred on the target; where a map cell sits
in the patch depends on the network's stride and padding, so both are arguments.
"""

from __future__ import annotations

import torch


def map_coordinates(map_size: tuple[int, int], stride: float, offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Patch-pixel (x, y) of the cells of a ``map_size`` (h, w) score map: cell j is at
    ``offset + stride * j`` (``offset`` is where cell 0 lies, e.g. half the receptive
    field of a valid-padding network)."""
    height, width = map_size
    xs = offset + stride * torch.arange(width, dtype=torch.float32)
    ys = offset + stride * torch.arange(height, dtype=torch.float32)
    return xs, ys


def gaussian_center_labels(
    boxes: torch.Tensor,
    map_size: tuple[int, int],
    stride: float,
    *,
    offset: float = 0.0,
    sigma: float | None = None,
    sigma_factor: float | None = None,
) -> torch.Tensor:
    """Gaussian bumps ``[B, h, w]`` (peak 1) at the centres of ``boxes`` ``[B, 4]`` (x, y, w, h, patch px).

    Give exactly one of ``sigma`` (patch pixels, same for every box) or
    ``sigma_factor`` (times sqrt(w * h) of each box, so labels widen with the target).
    """
    if (sigma is None) == (sigma_factor is None):
        raise ValueError("give exactly one of sigma or sigma_factor")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be [B, 4] (x, y, w, h), got shape {tuple(boxes.shape)}")
    boxes = boxes.to(torch.float32)
    xs, ys = map_coordinates(map_size, stride, offset)
    xs, ys = xs.to(boxes.device), ys.to(boxes.device)
    centers = boxes[:, :2] + 0.5 * boxes[:, 2:]
    if sigma is not None:
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        sigmas = torch.full((boxes.shape[0],), float(sigma), device=boxes.device)
    else:
        if sigma_factor <= 0:
            raise ValueError(f"sigma_factor must be > 0, got {sigma_factor!r}")
        sigmas = sigma_factor * boxes[:, 2:].clamp_min(1e-6).prod(dim=1).sqrt()
    dx = (xs[None, :] - centers[:, :1]) / sigmas[:, None]
    dy = (ys[None, :] - centers[:, 1:2]) / sigmas[:, None]
    return torch.exp(-0.5 * (dy[:, :, None] ** 2 + dx[:, None, :] ** 2))
