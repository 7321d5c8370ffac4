"""Checks of user input at the API boundary.

Trackers receive already-validated, canonical input (RGB ``uint8`` frames, finite
boxes inside the frame, boolean masks), so plugin code never repeats these checks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def as_rgb_frame(frame: object) -> np.ndarray:
    """Return ``frame`` as a contiguous ``(H, W, 3)`` RGB ``uint8`` array.

    Grayscale ``(H, W)`` / ``(H, W, 1)`` and RGBA ``(H, W, 4)`` frames are converted;
    anything else is rejected with a message that names what was received.
    """
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must have dtype uint8 (RGB 0..255), got dtype {frame.dtype}")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    elif frame.ndim == 3 and frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]
    elif not (frame.ndim == 3 and frame.shape[2] == 3):
        raise ValueError(
            f"frame must have shape (H, W, 3) RGB, (H, W) gray or (H, W, 4) RGBA, got shape {frame.shape}"
        )
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"frame is empty: shape {frame.shape}")
    return np.ascontiguousarray(frame)


def as_box(box: object, frame_hw: tuple[int, int]) -> tuple[float, float, float, float]:
    """Validate an ``(x, y, w, h)`` box against a frame of size ``frame_hw``."""
    if isinstance(box, np.ndarray):
        values = box.reshape(-1).tolist()
    elif isinstance(box, Sequence) and not isinstance(box, (str, bytes)):
        values = list(box)
    else:
        raise ValueError(f"box must be a sequence (x, y, w, h), got {box!r}")
    if len(values) != 4:
        raise ValueError(f"box must have 4 values (x, y, w, h), got {len(values)}: {box!r}")
    try:
        x, y, w, h = (float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"box values must be numbers, got {box!r}") from exc
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"box has a non-finite value (NaN or inf): {box!r}")
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be positive, got w={w}, h={h} in {box!r}")
    height, width = frame_hw
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {box!r} lies entirely outside the frame of size {width}x{height} (WxH)")
    return (x, y, w, h)


def as_mask(mask: object, frame_hw: tuple[int, int]) -> np.ndarray:
    """Validate an ``(H, W)`` boolean or 0/1 mask; return it as ``bool``."""
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != tuple(frame_hw):
        raise ValueError(f"mask shape {mask.shape} differs from the frame's (H, W) = {tuple(frame_hw)}")
    if mask.dtype != np.bool_:
        if not np.issubdtype(mask.dtype, np.number):
            raise ValueError(f"mask must be boolean or numeric 0/1, got dtype {mask.dtype}")
        values = np.unique(mask)
        if not np.all(np.isin(values, (0, 1))):
            raise ValueError(f"mask must hold only 0 and 1, found values {values[:8].tolist()}")
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("mask is empty: it marks no pixel of the target")
    return mask


