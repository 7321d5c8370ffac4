"""Polygon rasterisation with an exact, documented pixel rule.

Convention: pixel (row i, column j) is set when its centre (j + 0.5, i + 0.5) lies inside
the polygon (even-odd rule). A centre exactly on an edge follows the half-open
"top-left" rule of the crossing-number test: it counts as inside on left/top edges and
outside on right/bottom edges, so two polygons sharing an edge never both claim a pixel.
With this rule an axis-aligned box xywh = (x, y, w, h) with integer values covers exactly
columns x..x+w-1 and rows y..y+h-1, matching ``mask_to_box``.

OpenCV's ``fillPoly`` does the bulk of the work (fast, any polygon), fed sub-pixel
vertices through its fixed-point ``shift`` argument after moving from our pixel-centre
convention (centres at +0.5) to OpenCV's (centres at integers). ``fillPoly`` however fills
edges inclusively and rounds to the nearest pixel, so pixels within about one pixel of
an edge can differ from the centre rule; those pixels are found by drawing the outline
thickly and are re-decided with an exact crossing-number test.
"""

from __future__ import annotations

import cv2
import numpy as np

_SHIFT_BITS = 8  # OpenCV fixed-point precision: 1/256 px
_MAX_COORD = 1.0e6


def _check_shape(shape) -> tuple[int, int]:
    if len(shape) != 2 or int(shape[0]) <= 0 or int(shape[1]) <= 0:
        raise ValueError(f"mask shape must be (height, width) with positive sizes, got {shape}")
    return int(shape[0]), int(shape[1])


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd crossing-number test for many points [P, 2] against one polygon [K, 2]."""
    px = points[:, 0:1]
    py = points[:, 1:2]
    x0, y0 = polygon[:, 0][None, :], polygon[:, 1][None, :]
    x1, y1 = np.roll(polygon[:, 0], -1)[None, :], np.roll(polygon[:, 1], -1)[None, :]
    # Half-open in y: an edge counts when the ray's y lies in [min(y0,y1), max(y0,y1)).
    straddles = (y0 <= py) != (y1 <= py)
    dy = np.where(y1 == y0, 1.0, y1 - y0)
    x_cross = x0 + (py - y0) * (x1 - x0) / dy
    # Points left of the crossing (strictly) see it when casting a ray towards +x.
    crossings = straddles & (px < x_cross)
    return (np.count_nonzero(crossings, axis=1) % 2) == 1


def rasterize_polygon(polygon, shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of ``shape`` (H, W) with the pixels whose centres lie inside ``polygon`` [K, 2]."""
    height, width = _check_shape(shape)
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3:
        raise ValueError(f"polygon must have shape [K>=3, 2], got {poly.shape}")
    if not np.all(np.isfinite(poly)):
        raise ValueError(f"polygon contains non-finite coordinates: {poly.tolist()}")

    # OpenCV's fixed-point coordinates are int32 with 8 fractional bits (|v| < 8.3M px).
    if np.abs(poly).max() > _MAX_COORD:
        raise ValueError(f"polygon coordinates beyond +-{_MAX_COORD:g} px are not supported: {poly.tolist()}")
    fixed = np.round((poly - 0.5) * (1 << _SHIFT_BITS)).astype(np.int32).reshape(-1, 1, 2)

    canvas = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(canvas, [fixed], 1, lineType=cv2.LINE_8, shift=_SHIFT_BITS)
    band = np.zeros((height, width), dtype=np.uint8)
    cv2.polylines(band, [fixed], isClosed=True, color=1, thickness=3, lineType=cv2.LINE_8, shift=_SHIFT_BITS)

    rows, cols = np.nonzero(band)
    if rows.size:
        centres = np.stack([cols + 0.5, rows + 0.5], axis=1)
        canvas[rows, cols] = points_in_polygon(centres, poly)
    return canvas.astype(bool)
