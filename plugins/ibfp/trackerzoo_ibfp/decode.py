"""Anchor-free geometry of IBFP's score map: anchor points, l/t/r/b targets and regression samples.

Cell ``(i, j)`` of a map of stride ``s`` has its anchor point at crop pixel
``((j + 0.5) s, (i + 0.5) s)`` (trackerzoo's pixel convention: the crop spans [0, S)).
Decoding goes through the core's ``trackerzoo.geometry.anchor_free.decode_ltrb``; the grid
stays here because IBFP's cells sit at bin centres, Ocean's (the core's ``score_map_points``)
on the crop centre's lattice.
"""

from __future__ import annotations

import torch

SAMPLE_RULES = ("ratio", "distance")


def anchor_points(size: int, stride: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """Anchor points ``[size * size, 2]`` (x, y crop pixels), row-major like a flattened map."""
    coords = (torch.arange(size, dtype=torch.float32, device=device) + 0.5) * stride
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack((xs.reshape(-1), ys.reshape(-1)), dim=1)


def ltrb_targets(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Distances ``[B, 4, N]`` (l, t, r, b, pixels) from every point ``[N, 2]`` to boxes ``[B, 4]`` (x, y, w, h)."""
    x0, y0 = boxes[:, 0:1], boxes[:, 1:2]
    x1, y1 = x0 + boxes[:, 2:3], y0 + boxes[:, 3:4]
    px, py = points[None, :, 0], points[None, :, 1]
    return torch.stack((px - x0, py - y0, x1 - px, y1 - py), dim=1)


def regression_sample_mask(points: torch.Tensor, boxes: torch.Tensor, rule: str = "ratio",
                           value: float = 0.25) -> torch.Tensor:
    """Anchor points ``[B, N]`` (bool) whose l, t, r, b are learnt (Eq. 10, Fig. 5, Table II).

    ``points`` ``[N, 2]`` crop pixels, ``boxes`` ``[B, 4]`` (x, y, w, h). A point is a sample
    when ``|x - cx| <= dx`` and ``|y - cy| <= dy`` with

    - ``rule="ratio"``: ``dx = value * w``, ``dy = value * h`` (the paper's 0.25, Fig. 5b;
      ``value=0.5`` is every point inside the box, SiamCAR's rule, Fig. 5a);
    - ``rule="distance"``: ``dx = dy = value`` pixels (Table II rows c, d: 24, 36).

    The point nearest the centre is always a sample, so that a tiny box still trains.
    Raises ``ValueError`` for an unknown rule or a non-positive value.
    """
    if rule not in SAMPLE_RULES:
        raise ValueError(f"unknown regression sample rule {rule!r}; choose from {SAMPLE_RULES}")
    if not value > 0:
        raise ValueError(f"regression sample value must be > 0, got {value!r}")
    centres = boxes[:, :2] + 0.5 * boxes[:, 2:]
    offsets = (points[None] - centres[:, None]).abs()  # [B, N, 2]
    limits = boxes[:, None, 2:] * value if rule == "ratio" else torch.full_like(boxes[:, None, 2:], value)
    inside = (offsets <= limits).all(dim=2)
    nearest = offsets.pow(2).sum(dim=2).argmin(dim=1)
    inside[torch.arange(boxes.shape[0], device=boxes.device), nearest] = True
    return inside
