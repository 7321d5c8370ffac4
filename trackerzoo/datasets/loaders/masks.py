"""Helpers for mask-annotated layouts (DAVIS, YouTube-VOS): boxes derived from masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def mask_to_box(mask: np.ndarray | None) -> np.ndarray:
    """Tight ``x, y, w, h`` of a bool mask (pixel-inclusive); NaN when empty or unknown."""
    if mask is None:
        return np.full(4, np.nan)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.full(4, np.nan)
    cols = np.flatnonzero(mask.any(axis=0))
    return np.array([cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1], dtype=np.float64)


def boxes_from_masks(mask_of: Callable[[int], np.ndarray | None], length: int) -> np.ndarray:
    return np.stack([mask_to_box(mask_of(i)) for i in range(length)]) if length else np.zeros((0, 4))


def visible_from_masks(mask_of: Callable[[int], np.ndarray | None], length: int) -> np.ndarray:
    return np.array([m is not None and bool(m.any()) for m in (mask_of(i) for i in range(length))], dtype=bool)
