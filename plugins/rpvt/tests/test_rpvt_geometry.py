"""Rotated boxes by ellipse fit on analytic ellipses, and the boxes derived from them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from trackerzoo_rpvt.tracker import area_preserving_box, ellipse_box

from trackerzoo.geometry import mask_to_rotated_box


def ellipse_mask(cx, cy, a, b, angle_deg, shape=(200, 240)):
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    t = math.radians(angle_deg)
    u = (xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)
    v = -(xs - cx) * math.sin(t) + (ys - cy) * math.cos(t)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def sides_and_angle(corners):
    e1, e2 = corners[1] - corners[0], corners[2] - corners[1]
    l1, l2 = np.linalg.norm(e1), np.linalg.norm(e2)
    major = e1 if l1 >= l2 else e2
    angle = math.degrees(math.atan2(major[1], major[0])) % 180.0
    return max(l1, l2), min(l1, l2), angle


@pytest.mark.parametrize("angle", [0.0, 30.0, 75.0, 135.0])
def test_ellipse_fit_recovers_axes_and_angle(angle):
    a, b = 60.0, 25.0
    corners = mask_to_rotated_box(ellipse_mask(120.0, 100.0, a, b, angle), "ellipse")
    major, minor, found = sides_and_angle(corners)
    assert major == pytest.approx(2 * a, abs=2.0) and minor == pytest.approx(2 * b, abs=2.0)
    assert min(abs(found - angle), 180.0 - abs(found - angle)) < 1.5
    np.testing.assert_allclose(corners.mean(axis=0), [120.0, 100.0], atol=0.5)


def test_axis_aligned_box_of_the_fitted_ellipse_is_the_ellipse_extent():
    a, b, angle = 60.0, 25.0, 30.0
    t = math.radians(angle)
    half_w = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
    half_h = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
    box = ellipse_box(mask_to_rotated_box(ellipse_mask(120.0, 100.0, a, b, angle), "ellipse"))
    np.testing.assert_allclose(box, [120 - half_w, 100 - half_h, 2 * half_w, 2 * half_h], atol=1.5)


def test_area_preserving_box_keeps_centre_and_area():
    corners = np.array([[10.0, 0.0], [20.0, 10.0], [10.0, 20.0], [0.0, 10.0]])  # a diamond of area 200
    x, y, w, h = area_preserving_box(corners)
    assert (x + w / 2, y + h / 2) == pytest.approx((10.0, 10.0))
    assert (w - 1) * (h - 1) == pytest.approx(200.0)
