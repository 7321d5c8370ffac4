"""Rotated boxes fitted to a segmentation mask.

Segmentation trackers report a rotated box for the VOT rotated-box protocol. Two fits:

- ``"min_area"``: the minimum-area rectangle around the target's pixels (SiamMask/D3S).
  It is computed on the pixel *corners* of the boundary pixels, so a mask that is an
  axis-aligned block of w x h pixels gives back exactly that w x h box.
- ``"ellipse"``: RPVT's choice. An ellipse is least-squares fitted to the target's
  boundary (OpenCV ``fitEllipse``) and the box is the rectangle circumscribing it (sides =
  the ellipse's full axes, same centre and orientation). It follows the body of the target
  and is less pulled by thin protrusions than the min-area rectangle. Boundary pixel
  centres sit half a pixel inside the region's edge, so one pixel is added to each axis.
  Thin regions make the conic fit degenerate; then the min-area rectangle is returned.

Only the largest connected component is used: stray blobs of a noisy mask should not
stretch the box. Both fits return 4 corner points [4, 2] in image coordinates (pixel
(i, j) covers [j, j+1) x [i, i+1)), or an all-NaN [4, 2] array for an empty mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from .polygons import rotated_box_corners, rotated_box_iou

_METHODS = ("min_area", "ellipse")
_MIN_ELLIPSE_POINTS = 5  # fitEllipse needs at least five boundary points
# Below this IoU with the min-area rectangle an ellipse fit is treated as degenerate. An ellipse
# fitted to a rectangle's outline stays well above it (about 0.5 even for a 3 x 30 bar).
_MIN_ELLIPSE_AGREEMENT = 0.35


def _largest_contour(mask: np.ndarray) -> np.ndarray | None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    # Area of a 1-pixel-wide contour is 0: fall back to point count as a tie-breaker.
    best = max(contours, key=lambda c: (cv2.contourArea(c), len(c)))
    return best.reshape(-1, 2).astype(np.float64)


def _min_area_corners(boundary_pixels: np.ndarray) -> np.ndarray:
    offsets = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    pixel_corners = (boundary_pixels[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    rect = cv2.minAreaRect(pixel_corners.astype(np.float32))
    return cv2.boxPoints(rect).astype(np.float64)


def _ellipse_corners(boundary_pixels: np.ndarray) -> np.ndarray:
    centres = (boundary_pixels + 0.5).astype(np.float32)
    (cx, cy), (axis_w, axis_h), angle = cv2.fitEllipse(centres)
    return rotated_box_corners(cx, cy, axis_w + 1.0, axis_h + 1.0, angle)


def mask_to_rotated_box(mask, method: str = "ellipse") -> np.ndarray:
    """Corners [4, 2] of a rotated box fitted to ``mask`` with ``method`` ("ellipse" or "min_area")."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be a 2-D (H, W) array, got shape {m.shape}")
    boundary = _largest_contour(m.astype(bool))
    if boundary is None:
        return np.full((4, 2), np.nan)
    rectangle = _min_area_corners(boundary)
    if method == "ellipse" and len(np.unique(boundary, axis=0)) >= _MIN_ELLIPSE_POINTS:
        corners = _ellipse_corners(boundary)
        # Boundaries of very thin regions are nearly collinear and the conic fit degenerates
        # (axes of 0 px or far beyond the region). A sound fit always overlaps the min-area
        # rectangle substantially; otherwise the rectangle is the better answer.
        if np.all(np.isfinite(corners)) and rotated_box_iou(corners, rectangle) >= _MIN_ELLIPSE_AGREEMENT:
            return corners
    # Tiny or degenerate regions cannot carry an ellipse: the rectangle is exact there.
    return rectangle
