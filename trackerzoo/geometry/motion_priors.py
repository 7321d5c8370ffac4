"""Siamese trackers' priors on the target's motion: size/aspect-change penalty and cosine window.

SiamRPN++ (pysot ``siamrpn_tracker.py``), SiamCAR, SiamFC++ and Ocean re-weight the score
map by ``exp(-k (r s - 1))`` on scale/aspect jumps and blend it with a Hann window on the
displacement. CRACT applies both to its coarse anchors and refined boxes; the anchor-free
trackers (ARN, IBFP) apply them at every score-map cell.
"""

from __future__ import annotations

import math

import torch


def _change(ratio: torch.Tensor) -> torch.Tensor:
    return torch.maximum(ratio, 1.0 / ratio)


def _padded_side(size: torch.Tensor) -> torch.Tensor:
    """The exemplar side of a box: sqrt((w + p)(h + p)), p = (w + h) / 2."""
    pad = (size[..., 0] + size[..., 1]) * 0.5
    return torch.sqrt((size[..., 0] + pad) * (size[..., 1] + pad))


def size_change_penalty(sizes: torch.Tensor, previous: torch.Tensor, penalty_k: float) -> torch.Tensor:
    """``exp(-k (r_c s_c - 1))``: 1 for an unchanged box, smaller for scale or aspect jumps.

    ``sizes`` ``[K, 2]`` and ``previous`` ``[2]`` are (w, h) in the same units.
    """
    scale_change = _change(_padded_side(sizes) / _padded_side(previous))
    aspect_change = _change((previous[0] / previous[1]) / (sizes[:, 0] / sizes[:, 1]))
    return torch.exp(-(aspect_change * scale_change - 1.0) * penalty_k)


def cosine_window_at(centres: torch.Tensor, crop_size: int, extent: float) -> torch.Tensor:
    """The score map's Hann window evaluated at crop points ``[K, 2]``.

    ``extent`` is the distance between the first and last score-map cells; the window is
    1 at the crop centre and 0 at (and beyond) those cells, exactly like
    ``outer(hanning(S), hanning(S))`` at the cell centres.
    """
    offsets = (centres - crop_size / 2.0) / max(extent, 1e-6)
    per_axis = torch.where(offsets.abs() <= 0.5, 0.5 * (1.0 + torch.cos(2.0 * math.pi * offsets)),
                           torch.zeros_like(offsets))
    return per_axis[:, 0] * per_axis[:, 1]


def rank_with_priors(scores: torch.Tensor, penalty: torch.Tensor, centres: torch.Tensor, crop_size: int,
                     extent: float, window_influence: float) -> torch.Tensor:
    """SiamRPN++'s re-ranking: ``(1 - w) * score * penalty + w * window(centre)``.

    With ``w = 0`` the window is not evaluated at all: the proposal stage ranks every
    anchor of the score map each frame, and by default it uses no window.
    """
    ranked = scores * penalty
    if window_influence == 0.0:
        return ranked
    return ranked * (1.0 - window_influence) + cosine_window_at(centres, crop_size, extent) * window_influence
