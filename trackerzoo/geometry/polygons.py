"""Rotated boxes as polygons: corner construction, area, convex clipping and rotated-box IoU.

A rotated box is represented by its 4 corner points [4, 2] (x, y) in image coordinates,
the format VOT uses for its rotated ground truth and the format the mask-to-rotated-box
fits of RPVT/D3S produce. Overlap is computed exactly by clipping one convex polygon
against the other (Sutherland-Hodgman), so no rasterisation error enters the score.
"""

from __future__ import annotations

import math

import numpy as np


def _as_polygon(points, what: str) -> np.ndarray:
    poly = np.asarray(points, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3:
        raise ValueError(f"{what} must be an array of shape [K>=3, 2], got shape {poly.shape}")
    if not np.all(np.isfinite(poly)):
        raise ValueError(f"{what} contains non-finite coordinates: {poly.tolist()}")
    return poly


def rotated_box_corners(cx: float, cy: float, w: float, h: float, angle_deg: float) -> np.ndarray:
    """Corners [4, 2] of a w x h rectangle centred at (cx, cy), rotated by ``angle_deg``.

    The angle is measured from the image x axis towards the y axis (clockwise on screen,
    since y points down), the same sense as OpenCV's ``RotatedRect``. Corners are listed
    in a consistent cyclic order starting from the rotated (-w/2, -h/2) corner.
    """
    if w < 0 or h < 0:
        raise ValueError(f"rotated box size must be non-negative, got w={w}, h={h}")
    theta = math.radians(angle_deg)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    half = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    rotation = np.array([[cos_t, -sin_t], [sin_t, cos_t]])
    return half @ rotation.T + np.array([cx, cy])


def polygon_signed_area(points) -> float:
    """Shoelace area; positive when the vertices run counter-clockwise in an x-right/y-up frame."""
    poly = _as_polygon(points, "polygon")
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def polygon_area(points) -> float:
    return abs(polygon_signed_area(points))


def _orient_positive(poly: np.ndarray) -> np.ndarray:
    return poly if polygon_signed_area(poly) >= 0 else poly[::-1].copy()


def clip_convex_polygons(subject, clip) -> np.ndarray:
    """Intersection of two convex polygons, as a polygon [K, 2] (K may be 0).

    Sutherland-Hodgman: the subject is cut successively by each edge's half-plane of the
    clip polygon. Both inputs are re-oriented first so the "inside" side is unambiguous.
    """
    output = _orient_positive(_as_polygon(subject, "subject polygon"))
    clip_poly = _orient_positive(_as_polygon(clip, "clip polygon"))
    num_clip = len(clip_poly)
    for k in range(num_clip):
        if len(output) == 0:
            break
        a = clip_poly[k]
        b = clip_poly[(k + 1) % num_clip]
        edge = b - a
        # Cross product > 0 means the point lies left of the edge, i.e. inside for positive orientation.
        side = edge[0] * (output[:, 1] - a[1]) - edge[1] * (output[:, 0] - a[0])
        inside = side >= 0
        kept: list[np.ndarray] = []
        num_out = len(output)
        for i in range(num_out):
            j = (i + 1) % num_out
            if inside[i]:
                kept.append(output[i])
            if inside[i] != inside[j]:
                t = side[i] / (side[i] - side[j])
                kept.append(output[i] + t * (output[j] - output[i]))
        output = np.asarray(kept, dtype=np.float64).reshape(-1, 2)
    return output


def rotated_box_iou(corners_a, corners_b) -> float:
    """IoU of two convex quadrilaterals (or any convex polygons) given by their corners."""
    poly_a = _as_polygon(corners_a, "corners_a")
    poly_b = _as_polygon(corners_b, "corners_b")
    area_a, area_b = polygon_area(poly_a), polygon_area(poly_b)
    inter_poly = clip_convex_polygons(poly_a, poly_b)
    inter = polygon_area(inter_poly) if len(inter_poly) >= 3 else 0.0
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0
