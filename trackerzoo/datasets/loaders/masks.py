"""Helpers for mask-annotated layouts (DAVIS, YouTube-VOS): boxes derived from masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trackerzoo.geometry import mask_to_box


def boxes_from_masks(mask_of: Callable[[int], np.ndarray | None], length: int) -> np.ndarray:
    """``[length, 4]`` tight ``x, y, w, h`` boxes of ``mask_of(i)``; NaN rows where a mask is empty or ``None``."""
    boxes = [np.full(4, np.nan) if (mask := mask_of(i)) is None else mask_to_box(mask) for i in range(length)]
    return np.stack(boxes) if length else np.zeros((0, 4))


def visible_from_masks(mask_of: Callable[[int], np.ndarray | None], length: int) -> np.ndarray:
    return np.array([m is not None and bool(m.any()) for m in (mask_of(i) for i in range(length))], dtype=bool)
