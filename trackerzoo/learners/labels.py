"""Gaussian training labels for the correlation-filter learners (ATOM, DiMP/RTS, CRACT, IBFP).

The learners regress a score map that peaks at the target centre. Positions are in the
score map's own continuous coordinates with the trackerzoo pixel convention (cell (i, j)
covers [j, j+1) x [i, i+1), centre (j+0.5, i+0.5)); a tracker converts a patch position by
dividing by the feature stride (plus whatever offset its filter size introduces), so this
module carries no assumption about a particular network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def gaussian_label_map(centers: torch.Tensor, sigma, size: Sequence[int]) -> torch.Tensor:
    """Labels [N, 1, h, w]: ``exp(-((x-cx)^2 / 2 sx^2 + (y-cy)^2 / 2 sy^2))`` at every cell centre.

    ``centers`` [N, 2] (x, y); ``sigma`` a positive scalar, [2] (sx, sy) or [N, 2].
    """
    centers = torch.as_tensor(centers)
    if not centers.is_floating_point():
        centers = centers.to(torch.get_default_dtype())
    if centers.dim() != 2 or centers.shape[1] != 2:
        raise ValueError(f"centers must have shape [N, 2], got {tuple(centers.shape)}")
    if len(size) != 2 or min(int(v) for v in size) <= 0:
        raise ValueError(f"size must be (h, w) positive integers, got {size!r}")
    sig = torch.as_tensor(sigma, dtype=centers.dtype, device=centers.device)
    sig = sig.expand(centers.shape[0], 2) if sig.dim() <= 1 else sig
    if sig.shape != centers.shape or not bool(torch.all(sig > 0)):
        raise ValueError(f"sigma must be positive and broadcast to [N, 2], got {sigma!r}")
    height, width = int(size[0]), int(size[1])
    xs = torch.arange(width, dtype=centers.dtype, device=centers.device) + 0.5
    ys = torch.arange(height, dtype=centers.dtype, device=centers.device) + 0.5
    gx = torch.exp(-0.5 * ((xs[None, :] - centers[:, 0:1]) / sig[:, 0:1]) ** 2)  # [N, w]
    gy = torch.exp(-0.5 * ((ys[None, :] - centers[:, 1:2]) / sig[:, 1:2]) ** 2)  # [N, h]
    return (gy[:, :, None] * gx[:, None, :])[:, None]
