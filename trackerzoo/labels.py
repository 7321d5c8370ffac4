"""Gaussian label maps: the regression targets of score maps, for online learners and training.

Every label here is a Gaussian bump (peak 1) at the target centre. Two coordinate frames:

- :func:`gaussian_label_map` works in the score map's own continuous coordinates, with
  the trackerzoo pixel convention (cell (i, j) covers [j, j+1) x [i, i+1), centre
  (j+0.5, i+0.5)). The online learners (ATOM/DiMP/RTS filters, CRACT, IBFP) use it: a
  tracker converts a patch position by dividing by its feature stride.
- :func:`gaussian_center_labels` takes boxes in patch pixels and the network's stride and
  offset (where map cell 0 lies in the patch), for offline training of Siamese centre
  heads (SiamFC-style maps, IBFP's centre branch) and DiMP-style target models.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def gaussian_label_map(centers: torch.Tensor, sigma, size: Sequence[int]) -> torch.Tensor:
    """Labels [N, 1, h, w]: ``exp(-((x-cx)^2 / 2 sx^2 + (y-cy)^2 / 2 sy^2))`` at every cell centre.

    ``centers`` [N, 2] (x, y) in map cells; ``sigma`` in cells, a positive scalar, [2]
    (sx, sy) or [N, 2]; ``size`` (h, w). Raises ``ValueError`` for bad shapes or sigmas.
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

    Map cell j lies at patch pixel ``offset + stride * j`` (``offset``: where cell 0 is,
    e.g. half the receptive field of a valid-padding network). Give exactly one of
    ``sigma`` (patch pixels, the same for every box) or ``sigma_factor`` (times
    sqrt(w * h) of each box, so labels widen with the target). Raises ``ValueError``
    for both/neither sigma, a non-positive sigma or stride, or boxes not [B, 4].
    """
    if (sigma is None) == (sigma_factor is None):
        raise ValueError("give exactly one of sigma or sigma_factor")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be [B, 4] (x, y, w, h), got shape {tuple(boxes.shape)}")
    if not stride > 0:
        raise ValueError(f"stride must be > 0, got {stride!r}")
    boxes = boxes.to(torch.float32)
    if sigma is not None:
        if sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {sigma!r}")
        sigmas = torch.full((boxes.shape[0],), float(sigma), device=boxes.device)
    else:
        if sigma_factor <= 0:
            raise ValueError(f"sigma_factor must be > 0, got {sigma_factor!r}")
        sigmas = sigma_factor * boxes[:, 2:].clamp_min(1e-6).prod(dim=1).sqrt()
    # Patch pixels -> map cells (cell j's centre is j + 0.5 in map coordinates).
    centers = (boxes[:, :2] + 0.5 * boxes[:, 2:] - offset) / stride + 0.5
    cell_sigmas = (sigmas / stride)[:, None].expand(-1, 2)
    return gaussian_label_map(centers, cell_sigmas, map_size)[:, 0]
