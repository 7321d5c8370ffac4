"""Checks of user input at the API boundary.

Trackers receive already-validated, canonical input (RGB ``uint8`` frames, finite
boxes inside the frame, boolean masks), so plugin code never repeats these checks.
"""

from __future__ import annotations

import math
import numbers
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


# A box may be at most this many times the frame's width (height) wide (high). Larger boxes
# are not targets in this frame but mistakes (a 1e12 or 1e308 typed for a size, a box in
# another image's pixels) that would overflow crops, drawing and sampling downstream.
MAX_BOX_TO_FRAME = 4.0


def _box_value(value: object, box: object) -> float:
    """One coordinate of ``box`` as a float; bools, text, complex and overflowing ints are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise ValueError(f"box values must be real numbers, got {value!r} ({type(value).__name__}) in {box!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"box value {value!r} is too large for a pixel coordinate, in {box!r}") from None


def as_box(box: object, frame_hw: tuple[int, int]) -> tuple[float, float, float, float]:
    """Validate an ``(x, y, w, h)`` box (pixels) against a frame of size ``frame_hw`` = (H, W).

    ``box``: a sequence of 4 real numbers or a numpy array of shape ``(4,)`` (not bools, text,
    or arrays of any other shape). It must be finite, have ``w > 0`` and ``h > 0``, overlap the
    frame (``x < W``, ``y < H``, ``x + w > 0``, ``y + h > 0``: at least some of its area lies
    on the frame) and be no larger than ``MAX_BOX_TO_FRAME`` (4) times the frame in each
    direction (``w <= 4 * W``, ``h <= 4 * H``), so partly visible targets bigger than the frame
    are accepted but sizes such as 1e12 are not. Returns the four values as floats; raises
    ``ValueError`` naming the box and the rule it breaks.
    """
    if isinstance(box, np.ndarray):
        if box.shape != (4,):
            raise ValueError(f"box array must have shape (4,) for (x, y, w, h), got shape {box.shape}: {box!r}")
        values = box.tolist()
    elif isinstance(box, Sequence) and not isinstance(box, (str, bytes)):
        values = list(box)
    else:
        raise ValueError(f"box must be a sequence (x, y, w, h), got {box!r}")
    if len(values) != 4:
        raise ValueError(f"box must have 4 values (x, y, w, h), got {len(values)}: {box!r}")
    x, y, w, h = (_box_value(v, box) for v in values)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"box has a non-finite value (NaN or inf): {box!r}")
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be positive, got w={w}, h={h} in {box!r}")
    height, width = frame_hw
    if w > MAX_BOX_TO_FRAME * width or h > MAX_BOX_TO_FRAME * height:
        raise ValueError(
            f"box {box!r} is larger than {MAX_BOX_TO_FRAME:g} times the frame of size {width}x{height} (WxH): "
            f"w={w:g} (at most {MAX_BOX_TO_FRAME * width:g}), h={h:g} (at most {MAX_BOX_TO_FRAME * height:g})"
        )
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


