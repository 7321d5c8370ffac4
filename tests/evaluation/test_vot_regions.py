"""Region parsing/formatting, rasters and overlaps against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from trackerzoo.formats.regions import (
    INITIALIZATION,
    UNKNOWN,
    Mask,
    Polygon,
    Rectangle,
    Special,
    box_iou,
    format_region,
    parse_region,
    rasterize,
    region_is_empty,
    region_overlap,
    rle_decode,
    rle_encode,
)


def test_parse_each_kind_of_line() -> None:
    assert parse_region("1.5,2,3,4") == Rectangle(1.5, 2, 3, 4)
    assert parse_region("1") == INITIALIZATION
    assert parse_region("nan,nan,nan,nan") == UNKNOWN
    polygon = parse_region("0,0,4,0,4,3,0,3")
    assert isinstance(polygon, Polygon) and polygon.points.shape == (4, 2)
    mask = parse_region("m2,1,3,2,1,2,2,1")
    assert isinstance(mask, Mask) and mask.offset == (2, 1)
    # row-major runs starting with zeros: 0 1 1 / 0 0 1
    np.testing.assert_array_equal(mask.mask, [[False, True, True], [False, False, True]])


@pytest.mark.parametrize("line", ["1,2,3", "1,2,a,4", "m1,2,3", "m1,1,2,2,5", ""])
def test_malformed_lines_name_source_and_line(line: str) -> None:
    with pytest.raises(ValueError, match=r"'gt\.txt' at line 7"):
        parse_region(line, source="gt.txt", line=7)


def test_rle_round_trip_and_leading_one() -> None:
    patch = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    runs = rle_encode(patch)
    assert runs == [0, 2, 2, 2]
    np.testing.assert_array_equal(rle_decode(runs, 3, 2), patch)


def test_format_crops_mask_to_its_pixels_and_parses_back() -> None:
    full = np.zeros((6, 8), dtype=bool)
    full[2:4, 3:6] = True
    text = format_region(Mask(full))
    assert text.startswith("m3,2,3,2,")
    again = parse_region(text)
    np.testing.assert_array_equal(rasterize(again, 8, 6), full)
    assert format_region(Rectangle(1, 2.25, 3, 4)) == "1,2.25,3,4"
    assert format_region(Special(2)) == "2"


def test_rectangle_raster_rounds_and_clips() -> None:
    raster = rasterize(Rectangle(-1.2, 0.6, 3.4, 2.0), 5, 4)
    expected = np.zeros((4, 5), dtype=bool)
    expected[1:3, 0:2] = True  # x: round(-1.2)=-1 .. -1+3-1=1 -> cols 0..1; y: 1..2
    np.testing.assert_array_equal(raster, expected)


def test_polygon_raster_of_axis_aligned_square_is_inclusive() -> None:
    raster = rasterize(Polygon(np.array([[1, 1], [3, 1], [3, 3], [1, 3]], float)), 5, 5)
    expected = np.zeros((5, 5), dtype=bool)
    expected[1:4, 1:4] = True
    np.testing.assert_array_equal(raster, expected)


def test_overlaps_hand_computed() -> None:
    # 4x4 box vs the same box moved 2 px right: 8 / 24 pixels
    assert region_overlap(Rectangle(0, 0, 4, 4), Rectangle(2, 0, 4, 4), (10, 10)) == pytest.approx(8 / 24)
    # clipping to the image: half of the second box lies outside a 5-px-wide image
    assert region_overlap(Rectangle(0, 0, 4, 4), Rectangle(2, 0, 6, 4), (5, 5)) == pytest.approx(8 / 20)
    mask = np.zeros((4, 4), dtype=bool)
    mask[:2, :] = True
    assert region_overlap(Mask(mask, (0, 0)), Rectangle(0, 0, 4, 4), (10, 10)) == pytest.approx(0.5)


def test_empty_regions_overlap_one_and_init_marker_zero() -> None:
    empty_mask = Mask(np.zeros((3, 3), dtype=bool), (4, 4))
    assert region_is_empty(empty_mask) and region_is_empty(Rectangle(1, 1, 0, 5))
    assert region_overlap(empty_mask, Special(0), (10, 10)) == 1.0
    assert region_overlap(INITIALIZATION, Rectangle(1, 1, 3, 3), (10, 10)) == 0.0
    # non-empty prediction against an absent target scores 0
    assert region_overlap(Rectangle(1, 1, 3, 3), empty_mask, (10, 10)) == 0.0
    # both regions entirely outside the image
    assert region_overlap(Rectangle(20, 20, 3, 3), Rectangle(21, 20, 3, 3), (10, 10)) == 0.0


def test_box_iou_continuous() -> None:
    first = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 2, 2], [np.nan, 0, 1, 1]])
    second = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [5, 5, 2, 2], [0, 0, 1, 1]])
    np.testing.assert_allclose(box_iou(first, second), [50 / 150, 1.0, 0.0, 0.0])


def _random_line(rng: np.random.Generator) -> str:
    kind = rng.integers(0, 4)
    if kind == 0:
        x, y, w, h = rng.uniform(-20, 90), rng.uniform(-20, 70), rng.uniform(-2, 50), rng.uniform(-2, 50)
        return f"{x:.3f},{y:.3f},{w:.3f},{h:.3f}"
    if kind == 1:
        points = rng.uniform(-20, 90, (int(rng.integers(3, 8)), 2))
        return ",".join(f"{v:.2f}" for v in points.ravel())
    if kind == 2:
        patch = rng.random((int(rng.integers(1, 20)), int(rng.integers(1, 20)))) < 0.6
        if rng.random() < 0.1:
            patch[:] = False
        return format_region(Mask(patch, (int(rng.integers(-10, 80)), int(rng.integers(-10, 60)))))
    return "1"


def test_overlaps_match_vot_toolkit_on_random_regions() -> None:
    raster = pytest.importorskip("vot.region.raster")
    vot_io = pytest.importorskip("vot.region.io")
    rng = np.random.default_rng(2)
    for _ in range(600):
        first, second = _random_line(rng), _random_line(rng)
        expected = raster.calculate_overlap(vot_io.parse_region(first), vot_io.parse_region(second), (80, 60))
        ours = region_overlap(parse_region(first), parse_region(second), (80, 60))
        assert ours == pytest.approx(expected, abs=1e-12), (first, second)
