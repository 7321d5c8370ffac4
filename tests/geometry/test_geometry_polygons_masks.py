import math

import numpy as np
import pytest

from trackerzoo import geometry as geo


def _corner_set(corners):
    return sorted(map(tuple, np.round(np.asarray(corners), 6)))


def test_rotated_box_corners_hand_computed():
    corners = geo.rotated_box_corners(0.0, 0.0, 2.0, 2.0, 45.0)
    r = math.sqrt(2.0)
    assert _corner_set(corners) == _corner_set([[0, -r], [r, 0], [0, r], [-r, 0]])
    assert geo.polygon_area(corners) == pytest.approx(4.0)


def test_rotated_iou_axis_aligned_equals_box_iou():
    a = geo.rotated_box_corners(5, 5, 10, 10, 0)
    b = geo.rotated_box_corners(10, 10, 10, 10, 0)
    assert geo.rotated_box_iou(a, b) == pytest.approx(25 / 175)


def test_rotated_iou_square_and_its_45_degree_rotation():
    # Unit-area square vs the same square rotated 45deg about its centre: the intersection is a
    # regular octagon of area 2*(sqrt(2)-1) * side^2 ... for side 2: area 8*(sqrt(2)-1).
    a = geo.rotated_box_corners(0, 0, 2, 2, 0)
    b = geo.rotated_box_corners(0, 0, 2, 2, 45)
    inter = 8 * (math.sqrt(2) - 1)
    assert geo.rotated_box_iou(a, b) == pytest.approx(inter / (8 - inter))


def test_rotated_iou_disjoint_and_orientation_independent():
    a = geo.rotated_box_corners(0, 0, 2, 2, 30)
    assert geo.rotated_box_iou(a, geo.rotated_box_corners(10, 0, 2, 2, 10)) == 0.0
    assert geo.rotated_box_iou(a, a[::-1]) == pytest.approx(1.0)


def test_polygon_rejects_bad_input():
    with pytest.raises(ValueError, match="corners_a"):
        geo.rotated_box_iou(np.zeros((2, 2)), np.zeros((4, 2)))


def test_mask_to_box_and_back():
    mask = np.zeros((20, 30), bool)
    mask[3:8, 10:22] = True
    box = geo.mask_to_box(mask)
    np.testing.assert_array_equal(box, [10, 3, 12, 5])
    np.testing.assert_array_equal(geo.box_to_mask(box, mask.shape), mask)
    assert np.isnan(geo.mask_to_box(np.zeros((4, 4), bool))).all()


def test_box_to_mask_fractional_uses_pixel_centres():
    # centres 0.5, 1.5, ...: [1.2, 3.6) contains centres 1.5, 2.5, 3.5 -> columns 1..3
    mask = geo.box_to_mask([1.2, 0.0, 2.4, 1.0], (2, 6))
    np.testing.assert_array_equal(mask[0], [0, 1, 1, 1, 0, 0])
    assert not mask[1].any()


def test_mask_iou_hand_computed():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[0:4, 0:4] = True  # 16 px
    b[2:6, 2:6] = True  # 16 px, overlap 4
    assert geo.mask_iou(a, b) == pytest.approx(4 / 28)
    assert geo.mask_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        geo.mask_iou(a, np.zeros((3, 3)))


def test_rasterize_axis_aligned_integer_box_is_exact():
    poly = [[2, 3], [7, 3], [7, 5], [2, 5]]
    mask = geo.rasterize_polygon(poly, (8, 10))
    expected = np.zeros((8, 10), bool)
    expected[3:5, 2:7] = True
    np.testing.assert_array_equal(mask, expected)


def test_rasterize_matches_exact_centre_rule_on_random_polygons():
    rng = np.random.default_rng(1)
    height, width = 40, 50
    ys, xs = np.mgrid[0:height, 0:width]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
    for _ in range(20):
        poly = geo.rotated_box_corners(*rng.uniform([10, 10, 3, 3, 0], [40, 30, 30, 20, 180]))
        mask = geo.rasterize_polygon(poly, (height, width))
        exact = geo.points_in_polygon(centres, poly).reshape(height, width)
        np.testing.assert_array_equal(mask, exact)
        # Pixel count approximates area (polygon fully inside or clipped by the image border).
        if poly.min() > 1 and poly[:, 0].max() < width - 1 and poly[:, 1].max() < height - 1:
            assert abs(mask.sum() - geo.polygon_area(poly)) < 0.2 * geo.polygon_area(poly) + 6


def test_rasterize_non_convex_polygon():
    # An L shape made of a 4x2 bar and a 2x4 bar.
    poly = [[0, 0], [4, 0], [4, 2], [2, 2], [2, 4], [0, 4]]
    mask = geo.rasterize_polygon(poly, (5, 5))
    expected = np.zeros((5, 5), bool)
    expected[0:2, 0:4] = True
    expected[2:4, 0:2] = True
    np.testing.assert_array_equal(mask, expected)


def test_rasterize_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        geo.rasterize_polygon([[0, 0], [1, 0], [1, 1]], (0, 4))


def test_min_area_rotated_box_of_axis_aligned_block_is_exact():
    mask = np.zeros((30, 40), bool)
    mask[5:15, 8:28] = True
    corners = geo.mask_to_rotated_box(mask, method="min_area")
    assert _corner_set(corners) == _corner_set([[8, 5], [28, 5], [28, 15], [8, 15]])


def test_min_area_recovers_rotated_rectangle():
    truth = geo.rotated_box_corners(50, 40, 50, 20, 30)
    mask = geo.rasterize_polygon(truth, (80, 100))
    corners = geo.mask_to_rotated_box(mask, method="min_area")
    assert geo.rotated_box_iou(corners, truth) > 0.9


def test_ellipse_fit_recovers_rotated_ellipse_axes():
    height, width = 100, 120
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    cx, cy, a, b, angle = 60.0, 50.0, 30.0, 12.0, 25.0  # semi-axes a, b
    t = math.radians(angle)
    u = (xs - cx) * math.cos(t) + (ys - cy) * math.sin(t)
    v = -(xs - cx) * math.sin(t) + (ys - cy) * math.cos(t)
    mask = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    corners = geo.mask_to_rotated_box(mask, method="ellipse")
    truth = geo.rotated_box_corners(cx, cy, 2 * a, 2 * b, angle)
    np.testing.assert_allclose(corners.mean(axis=0), [cx, cy], atol=0.5)
    side_lengths = sorted(np.linalg.norm(corners - np.roll(corners, 1, axis=0), axis=1))
    np.testing.assert_allclose(side_lengths, [2 * b, 2 * b, 2 * a, 2 * a], atol=1.5)
    assert geo.rotated_box_iou(corners, truth) > 0.93


def test_rotated_fit_uses_largest_component_and_handles_empty():
    mask = np.zeros((40, 40), bool)
    mask[10:20, 10:30] = True
    mask[35, 35] = True  # stray pixel must not stretch the box
    corners = geo.mask_to_rotated_box(mask, method="min_area")
    assert corners[:, 0].max() <= 30 + 1e-6 and corners[:, 1].max() <= 20 + 1e-6
    assert np.isnan(geo.mask_to_rotated_box(np.zeros((5, 5), bool))).all()
    tiny = np.zeros((5, 5), bool)
    tiny[2, 2] = True
    assert _corner_set(geo.mask_to_rotated_box(tiny)) == _corner_set([[2, 2], [3, 2], [3, 3], [2, 3]])
    with pytest.raises(ValueError, match="method"):
        geo.mask_to_rotated_box(mask, method="hull")


def test_ellipse_fit_falls_back_to_rectangle_on_degenerate_thin_masks():
    mask = np.zeros((40, 40), bool)
    mask[10:12, 5:35] = True  # 2 px tall bar: the conic fit collapses
    corners = geo.mask_to_rotated_box(mask, method="ellipse")
    assert _corner_set(corners) == _corner_set([[5, 10], [35, 10], [35, 12], [5, 12]])
