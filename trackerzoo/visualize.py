"""Drawing predictions on frames and assembling contact sheets."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from trackerzoo.prediction import Prediction


def draw_prediction(
    frame_rgb: np.ndarray,
    prediction: Prediction,
    *,
    color: tuple[int, int, int] = (255, 64, 32),
    label: str | None = None,
) -> np.ndarray:
    """Return a copy of ``frame_rgb`` with the box, rotated box, mask tint and label drawn."""
    canvas = frame_rgb.copy()
    if prediction.mask is not None:
        tint = np.zeros_like(canvas)
        tint[prediction.mask] = color
        canvas = cv2.addWeighted(canvas, 1.0, tint, 0.45, 0.0)
    x, y, w, h = (float(v) for v in prediction.box)
    if not all(np.isfinite((x, y, w, h))):  # nothing to draw: a tracker reported no usable box
        return canvas
    # Corners clipped to a band around the canvas: OpenCV needs int32 points, and a box far
    # outside (or absurdly large) draws the same as its part near the frame.
    height, width = canvas.shape[:2]
    x0, x1 = (round(min(max(v, -width), 2 * width)) for v in (x, x + w))
    y0, y1 = (round(min(max(v, -height), 2 * height)) for v in (y, y + h))
    x, y = x0, y0
    cv2.rectangle(canvas, (x0, y0), (x1, y1), color, 2)
    if prediction.rotated_box is not None:
        corners = np.round(np.asarray(prediction.rotated_box)).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [corners], True, (255, 255, 0), 1)
    text = label if label is not None else f"{prediction.score:.2f}"
    cv2.putText(canvas, text, (round(x), max(12, round(y) - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
    return canvas


def contact_sheet(frames: Sequence[np.ndarray], *, columns: int = 4, thumb_width: int = 320) -> np.ndarray:
    """Tile ``frames`` (RGB) into one image, each scaled to ``thumb_width`` pixels wide."""
    if not frames:
        raise ValueError("contact_sheet needs at least one frame")
    thumbs = []
    for frame in frames:
        scale = thumb_width / frame.shape[1]
        thumbs.append(cv2.resize(frame, (thumb_width, round(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA))
    thumb_height = max(t.shape[0] for t in thumbs)
    rows = -(-len(thumbs) // columns)
    sheet = np.zeros((rows * thumb_height, columns * thumb_width, 3), np.uint8)
    for index, thumb in enumerate(thumbs):
        row, col = divmod(index, columns)
        sheet[row * thumb_height : row * thumb_height + thumb.shape[0], col * thumb_width : (col + 1) * thumb_width] = (
            thumb
        )
    return sheet
