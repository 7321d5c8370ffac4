"""Anchor-free Siamese read-out: score-map grid, l,t,r,b decoding, prior-weighted choice, size smoothing.

FCOS-style heads (Ocean/OceanPlus TracKit ``lib/tracker/ocean.py``, SiamCAR, SiamFC++)
predict at every score-map cell the distances (l, t, r, b) from the cell's point in the
search crop to the four sides of the box. Reading a box out of such maps is the same
for every such tracker: place the cells in the crop, decode the boxes, re-weight the
scores by the size/aspect penalty and the cosine window
(:mod:`trackerzoo.geometry.motion_priors`), take the best cell, and move the box size
towards it by ``lr * penalty * score``. Units: search-crop pixels unless said otherwise.
"""

from __future__ import annotations

import dataclasses

import torch

from trackerzoo.geometry.motion_priors import size_change_penalty


def score_map_points(size: int, stride: int, crop_size: int) -> torch.Tensor:
    """Crop pixel (x, y) of each cell of a ``size x size`` map: ``[size, size, 2]``.

    Cell ``(i, j)`` sits at ``(j - size // 2) * stride + crop_size // 2`` (Ocean's ``grids``):
    the centre cell on the crop centre, neighbours ``stride`` pixels apart.
    Raises ``ValueError`` for a non-positive size or stride.
    """
    if size < 1 or stride < 1:
        raise ValueError(f"score map size and stride must be >= 1, got size={size!r}, stride={stride!r}")
    offsets = (torch.arange(size, dtype=torch.float64) - size // 2) * stride + crop_size // 2
    ys, xs = torch.meshgrid(offsets, offsets, indexing="ij")
    return torch.stack((xs, ys), dim=-1)


def decode_ltrb(points: torch.Tensor, ltrb: torch.Tensor) -> torch.Tensor:
    """Boxes ``[..., 4]`` (x1, y1, x2, y2) from points ``[..., 2]`` and distances ``[4, ...]`` or ``[..., 4]``.

    ``ltrb`` with the 4 first (a head's ``[4, h, w]`` map) is moved to the last axis.
    Raises ``ValueError`` when the shapes do not match.
    """
    if ltrb.shape[-1] != 4 and ltrb.shape[0] == 4:
        ltrb = ltrb.movedim(0, -1)
    if ltrb.shape[:-1] != points.shape[:-1] or ltrb.shape[-1] != 4 or points.shape[-1] != 2:
        raise ValueError(f"ltrb {tuple(ltrb.shape)} does not match points {tuple(points.shape)}")
    ltrb = ltrb.to(points.dtype)
    return torch.cat((points - ltrb[..., :2], points + ltrb[..., 2:]), dim=-1)


def hann_window(size: int) -> torch.Tensor:
    """``outer(hanning(size), hanning(size))`` ``[size, size]`` (numpy's symmetric Hann window)."""
    if size < 1:
        raise ValueError(f"window size must be >= 1, got {size!r}")
    window = torch.hann_window(size, periodic=False, dtype=torch.float64) if size > 1 else torch.ones(1,
                                                                                                      dtype=torch.float64)
    return torch.outer(window, window)


@dataclasses.dataclass
class MapChoice:
    """The chosen cell and the quantities the size update needs."""

    index: tuple[int, int]  # (row, col) of the best cell
    box: torch.Tensor  # [4] x1, y1, x2, y2 of that cell's box
    score: float  # raw classification score at the cell
    penalty: float  # size/aspect penalty at the cell
    ranked: torch.Tensor  # [h, w] the map that was maximised


def choose_on_map(scores: torch.Tensor, boxes: torch.Tensor, previous_size: torch.Tensor, *, penalty_k: float,
                  window_influence: float) -> MapChoice:
    """Ocean's choice: argmax of ``(1 - w) * score * penalty + w * hann`` over the map.

    ``scores`` ``[h, w]`` (probabilities), ``boxes`` ``[h, w, 4]`` (x1, y1, x2, y2), and the
    previous target size (w, h) in the same pixels. ``ValueError`` on mismatched shapes or a
    non-square map when the window is used.
    """
    if scores.dim() != 2 or boxes.shape != (*scores.shape, 4):
        raise ValueError(f"scores {tuple(scores.shape)} and boxes {tuple(boxes.shape)} must be [h, w] and [h, w, 4]")
    scores = scores.to(torch.float64)
    sizes = (boxes[..., 2:] - boxes[..., :2]).clamp_min(1e-6).reshape(-1, 2)
    penalty = size_change_penalty(sizes, previous_size.to(torch.float64), penalty_k).reshape(scores.shape)
    ranked = scores * penalty
    if window_influence > 0.0:
        if scores.shape[0] != scores.shape[1]:
            raise ValueError(f"the cosine window needs a square map, got {tuple(scores.shape)}")
        ranked = ranked * (1.0 - window_influence) + hann_window(scores.shape[0]) * window_influence
    flat = int(torch.argmax(ranked))
    row, col = divmod(flat, scores.shape[1])
    return MapChoice((row, col), boxes[row, col], float(scores[row, col]), float(penalty[row, col]), ranked)


def smooth_size(previous: torch.Tensor, predicted: torch.Tensor, rate: float) -> torch.Tensor:
    """``(1 - rate) * previous + rate * predicted`` for sizes (w, h); ``rate`` in [0, 1] else ValueError."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"size smoothing rate must be in [0, 1], got {rate!r}")
    return previous * (1.0 - rate) + predicted * rate
