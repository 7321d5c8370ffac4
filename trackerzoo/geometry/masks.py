"""Masks <-> boxes and mask IoU.

Masks are boolean numpy arrays (H, W). Pixel (i, j) covers [j, j+1) x [i, i+1) as in
:mod:`trackerzoo.geometry.boxes`, so the tight box of a mask has integer corners and a
box rasterised back with :func:`box_to_mask` reproduces the same pixels.
"""

from __future__ import annotations

import numpy as np

from .rasterize import rasterize_polygon


def _as_mask(mask, what: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (H, W) array, got shape {arr.shape}")
    return arr.astype(bool, copy=False)


def mask_iou(mask_a, mask_b) -> float:
    """Intersection over union of two boolean masks of equal shape.

    Two empty masks count as a perfect match (1.0), the DAVIS region-similarity
    convention: a tracker that correctly reports "no target" should not be penalised.
    """
    a = _as_mask(mask_a, "mask_a")
    b = _as_mask(mask_b, "mask_b")
    if a.shape != b.shape:
        raise ValueError(f"mask shapes differ: {a.shape} vs {b.shape}")
    union = np.count_nonzero(a | b)
    if union == 0:
        return 1.0
    return np.count_nonzero(a & b) / union


def mask_to_box(mask) -> np.ndarray:
    """Tight axis-aligned xywh box (float64 [4]) of the set pixels; all-NaN when the mask is empty.

    NaN rather than None so that per-frame results stack into a [T, 4] array the way the
    dataset boxes do (NaN = unknown).
    """
    m = _as_mask(mask, "mask")
    cols = np.flatnonzero(m.any(axis=0))
    rows = np.flatnonzero(m.any(axis=1))
    if cols.size == 0:
        return np.full(4, np.nan)
    x0, x1 = cols[0], cols[-1] + 1
    y0, y1 = rows[0], rows[-1] + 1
    return np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float64)


def box_to_mask(box_xywh, shape: tuple[int, int]) -> np.ndarray:
    """Pseudo-mask of an axis-aligned box: pixels whose centre lies in [x, x+w) x [y, y+h).

    Used to initialise mask-based trackers from a box when no mask is given.
    """
    box = np.asarray(box_xywh, dtype=np.float64)
    if box.shape != (4,) or not np.all(np.isfinite(box)):
        raise ValueError(f"box must be 4 finite numbers (x, y, w, h), got {box_xywh!r}")
    if len(shape) != 2 or shape[0] <= 0 or shape[1] <= 0:
        raise ValueError(f"mask shape must be (height, width) with positive sizes, got {shape}")
    x, y, w, h = box
    centres_x = np.arange(shape[1]) + 0.5
    centres_y = np.arange(shape[0]) + 0.5
    in_x = (centres_x >= x) & (centres_x < x + w)
    in_y = (centres_y >= y) & (centres_y < y + h)
    return in_y[:, None] & in_x[None, :]


def rotated_box_to_mask(corners, shape: tuple[int, int]) -> np.ndarray:
    """Pseudo-mask of a rotated box given by its 4 corners (same pixel rule as :func:`box_to_mask`)."""
    return rasterize_polygon(corners, shape)
