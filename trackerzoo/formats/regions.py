"""Regions as the VOT challenge writes them, their rasterisation, and overlaps.

A VOT annotation or result line is one of

* ``x,y,w,h`` -- an axis-aligned rectangle,
* ``x1,y1,x2,y2,...`` (at least three points) -- a polygon,
* ``m<x0>,<y0>,<w>,<h>,<rle...>`` -- a binary mask: a ``w x h`` patch placed at
  ``(x0, y0)``, encoded as run lengths over its pixels in row-major order, alternating
  zeros and ones and *starting with zeros* (unlike COCO's column-major RLE),
* a single number -- a special marker: 1 = initialisation frame, 2 = failure,
  0 = unknown (what a NaN box also becomes).

Overlaps are computed on rasters, not on continuous geometry, because that is what
the VOT toolkit does and scores must be comparable with published ones. The rules
that decide a score (and that we reproduce, checked against ``vot-toolkit``):

* rectangles and polygon vertices are rounded to whole pixels first;
* rasters are clipped to the image when its size is given;
* a region whose pixel bounds are degenerate counts as empty, and the overlap of two
  empty regions is 1 (nothing to find, nothing reported); when the two regions' joint
  bounds collapse to a line after clipping to the image the overlap is 0;
* a mask whose pixels all lie in one column counts as empty: vot-toolkit (0.9) crops
  masks to their pixel bounds on reading and then takes a zero right bound for "no
  pixels", so such masks vanish there, and our scores must agree with its scores.

Continuous box IoU (used by OPE and GOT-10k, whose toolkits do not rasterise) is
``box_iou`` at the end.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Rectangle:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, eq=False)
class Polygon:
    points: np.ndarray  # float64 [N, 2] of (x, y)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polygon) and np.array_equal(self.points, other.points)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class Mask:
    mask: np.ndarray  # bool [h, w]
    offset: tuple[int, int] = field(default=(0, 0))  # (x0, y0) of mask[0, 0] in the image

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Mask) and self.offset == other.offset
                and np.array_equal(self.mask, other.mask))

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Special:
    """A VOT marker line instead of a region: 0 unknown, 1 initialisation, 2 failure."""

    code: int


UNKNOWN = Special(0)
INITIALIZATION = Special(1)
FAILURE = Special(2)

Region = Rectangle | Polygon | Mask | Special


def rotated_box_polygon(corners: np.ndarray | None) -> Polygon | None:
    """A rotated box ``[4, 2]`` of ``(x, y)`` corners (pixels) as a ``Polygon``.

    ``None`` when there is none or it is unusable (fewer than 3 corners, a non-finite
    value), so callers fall back to the axis-aligned box.
    """
    if corners is None:
        return None
    points = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3 or not np.isfinite(points).all():
        return None
    return Polygon(points)


# --------------------------------------------------------------------------- RLE

def rle_decode(runs: list[int] | np.ndarray, width: int, height: int) -> np.ndarray:
    """Bool ``(height, width)`` mask from row-major runs that start with a zero run."""
    runs = np.asarray(runs, dtype=np.int64)
    if width < 0 or height < 0:
        raise ValueError(f"mask size {width}x{height} is negative")
    if runs.size and runs.min() < 0:
        raise ValueError(f"mask run lengths {runs.tolist()} contain a negative run")
    total = int(runs.sum())
    if total > width * height:
        raise ValueError(f"mask runs cover {total} pixels but the patch is {width}x{height}")
    values = np.zeros(runs.size, dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    flat = np.concatenate([flat, np.zeros(width * height - total, dtype=bool)])
    return flat.reshape(height, width)


def rle_encode(mask: np.ndarray) -> list[int]:
    """Row-major runs of a bool patch, first run counting zeros (0 if it starts with 1)."""
    flat = np.asarray(mask, dtype=bool).ravel()
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(edges).tolist()
    if flat[0]:
        runs.insert(0, 0)
    return [int(r) for r in runs]


def mask_pixel_bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Inclusive ``(left, top, right, bottom)`` of the true pixels, None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


# --------------------------------------------------------------------------- text

def _where(source: str | os.PathLike | None, line: int | None) -> str:
    if source is None and line is None:
        return ""
    place = f" in {os.fspath(source)!r}" if source is not None else ""
    return f"{place} at line {line}" if line is not None else place


def parse_region(text: str, *, source: str | os.PathLike | None = None, line: int | None = None) -> Region:
    """Parse one VOT region line; a malformed line raises a ValueError naming file and line."""
    stripped = text.strip()
    where = _where(source, line)
    if not stripped:
        raise ValueError(f"empty region line{where}")
    if stripped[0] == "m":
        try:
            numbers = [int(token) for token in stripped[1:].split(",")]
        except ValueError:
            raise ValueError(f"malformed mask region {stripped[:60]!r}{where}") from None
        if len(numbers) < 4:
            raise ValueError(f"mask region {stripped[:60]!r}{where} needs x0,y0,w,h and runs")
        x0, y0, width, height = numbers[:4]
        try:
            patch = rle_decode(numbers[4:], width, height)
        except ValueError as exc:
            raise ValueError(f"mask region{where}: {exc}") from None
        return Mask(patch, (x0, y0))
    tokens = [token for token in stripped.replace("\t", ",").replace(" ", ",").split(",") if token]
    try:
        values = [float(token) for token in tokens]
    except ValueError:
        raise ValueError(f"malformed region {stripped[:60]!r}{where}") from None
    if len(values) == 1:
        if math.isnan(values[0]):
            return UNKNOWN
        return Special(int(values[0]))
    if any(math.isnan(v) for v in values):
        return UNKNOWN  # a box or polygon with NaNs means "no prediction", as in the toolkit
    if len(values) == 4:
        return Rectangle(*values)
    if len(values) >= 6 and len(values) % 2 == 0:
        return Polygon(np.asarray(values, dtype=np.float64).reshape(-1, 2))
    raise ValueError(f"region {stripped[:60]!r}{where} has {len(values)} numbers; "
                     "expected 1 (marker), 4 (rectangle) or an even count >= 6 (polygon)")


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if math.isfinite(value) else "nan"


def format_region(region: Region) -> str:
    """One VOT line for ``region``; masks are cropped to their true pixels before encoding."""
    if isinstance(region, Special):
        return str(int(region.code))
    if isinstance(region, Rectangle):
        return ",".join(_number(v) for v in (region.x, region.y, region.w, region.h))
    if isinstance(region, Polygon):
        return ",".join(_number(v) for v in region.points.ravel())
    if isinstance(region, Mask):
        bounds = mask_pixel_bounds(region.mask)
        if bounds is None:  # an empty mask is written as a 1x1 zero patch, as the toolkit does
            x0, y0, patch = region.offset[0], region.offset[1], np.zeros((1, 1), dtype=bool)
        else:
            left, top, right, bottom = bounds
            patch = region.mask[top:bottom + 1, left:right + 1]
            x0, y0 = region.offset[0] + left, region.offset[1] + top
        runs = rle_encode(patch)
        return "m" + ",".join(str(v) for v in (x0, y0, patch.shape[1], patch.shape[0], *runs))
    raise ValueError(f"cannot format region {region!r}")


# --------------------------------------------------------------------------- geometry

def _rounded_rectangle(region: Rectangle) -> tuple[int, int, int, int]:
    """Whole-pixel ``(x, y, w, h)``: the toolkit rounds each number (half to even)."""
    return (round(region.x), round(region.y), round(region.w), round(region.h))


def _mask_bounds(region: Mask) -> tuple[int, int, int, int] | None:
    """Pixel bounds of a mask in the image, None when it counts as empty (see module doc)."""
    bounds = mask_pixel_bounds(region.mask)
    if bounds is None or bounds[0] == bounds[2]:
        return None
    ox, oy = region.offset
    return bounds[0] + ox, bounds[1] + oy, bounds[2] + ox, bounds[3] + oy


def region_bounds(region: Region) -> tuple[int, int, int, int]:
    """Inclusive pixel ``(left, top, right, bottom)``; ``(0, 0, 0, 0)``-like when empty.

    These bounds decide emptiness for the overlap (see the module docstring), so they
    follow the VOT conventions exactly, including an empty mask sitting at its offset.
    """
    if isinstance(region, Rectangle):
        x, y, w, h = _rounded_rectangle(region)
        return x, y, x + w - 1, y + h - 1
    if isinstance(region, Polygon):
        points = np.round(region.points)
        return (int(points[:, 0].min()), int(points[:, 1].min()),
                int(points[:, 0].max()), int(points[:, 1].max()))
    if isinstance(region, Mask):
        return _mask_bounds(region) or (0, 0, 0, 0)
    return 0, 0, 0, 0


def region_is_empty(region: Region) -> bool:
    """True when a region covers no area (markers, zero-size boxes, blank masks).

    This is the ground-truth test of the VOT failure rule: frames whose ground truth is
    empty (target absent) never count towards a failure.
    """
    if isinstance(region, Special):
        return True
    if isinstance(region, Rectangle):
        return not (region.w > 0 and region.h > 0)
    if isinstance(region, Polygon):
        xs, ys = region.points[:, 0], region.points[:, 1]
        return bool(xs.min() == xs.max() or ys.min() == ys.max())
    return _mask_bounds(region) is None


def _fill_polygon(points: np.ndarray, canvas: np.ndarray) -> None:
    """Scan-line fill of a polygon with whole-pixel vertices into ``canvas`` (clipped).

    For each pixel row every edge that reaches the row contributes one crossing (both
    endpoints inclusive, horizontal edges on the row contribute their first vertex);
    crossings are truncated to whole columns, sorted, and filled in pairs, the span
    including both ends. Repeated crossings of a vertex are skipped unless they are the
    last pair, so a vertex touching the row is not treated as an opening edge.

    All rows are solved at once with array operations; only rows with more than two
    crossings (vertex rows, concave shapes) go through the sequential pairing rule.
    """
    height, width = canvas.shape
    xs, ys = points[:, 0], points[:, 1]
    prev_xs, prev_ys = np.roll(xs, 1), np.roll(ys, 1)
    rise = prev_ys - ys
    run = prev_xs - xs
    row_start = max(0, int(ys.min()))
    row_stop = min(height - 1, int(ys.max()))
    if row_stop < row_start:
        return
    rows = np.arange(row_start, row_stop + 1, dtype=np.float64)[:, None]
    reaches = (((ys <= rows) & (prev_ys > rows)) | ((prev_ys <= rows) & (ys > rows))
               | ((ys < rows) & (prev_ys >= rows)) | ((prev_ys < rows) & (ys >= rows))
               | ((ys == prev_ys) & (ys == rows)))
    safe_rise = np.where(rise != 0, rise, 1.0)
    crossing = np.where(rise != 0, xs + (rows - ys) / safe_rise * run, xs)
    nodes = np.sort(np.where(reaches, np.trunc(crossing), np.inf), axis=1)
    counts = reaches.sum(axis=1)

    pairs = np.flatnonzero(counts == 2)
    if pairs.size:
        left, right = nodes[pairs, 0], nodes[pairs, 1]
        fill = (left < width) & (right >= 0)
        pairs, left, right = pairs[fill], left[fill], right[fill]
        columns = np.arange(width)
        canvas[pairs + row_start] |= ((columns >= np.maximum(left, 0)[:, None])
                                      & (columns <= np.minimum(right, width - 1)[:, None]))

    for offset in np.flatnonzero(counts > 2):
        row_nodes = nodes[offset, :counts[offset]].astype(np.int64)
        count = row_nodes.size
        i = 0
        while i < count - 1:
            left, right = row_nodes[i], row_nodes[i + 1]
            if left >= width:
                break
            if left == right and i < count - 2:
                i += 1
                continue
            if right >= 0:
                canvas[offset + row_start, max(left, 0):min(right, width - 1) + 1] = True
            i += 2


def rasterize(region: Region, width: int, height: int) -> np.ndarray:
    """Bool ``(height, width)`` raster of ``region`` clipped to the image."""
    canvas = np.zeros((height, width), dtype=bool)
    if isinstance(region, Rectangle):
        x, y, w, h = _rounded_rectangle(region)
        if w > 0 and h > 0:
            canvas[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = True
    elif isinstance(region, Polygon):
        _fill_polygon(np.round(region.points), canvas)
    elif isinstance(region, Mask) and _mask_bounds(region) is not None:
        ox, oy = region.offset
        mh, mw = region.mask.shape
        top, left = max(oy, 0), max(ox, 0)
        bottom, right = min(oy + mh, height), min(ox + mw, width)
        if bottom > top and right > left:
            canvas[top:bottom, left:right] = region.mask[top - oy:bottom - oy, left - ox:right - ox]
    return canvas


def region_overlap(first: Region, second: Region, image_size: tuple[int, int] | None = None) -> float:
    """Raster IoU of two regions; ``image_size`` is ``(width, height)`` for clipping.

    Without an image size the raster spans the two regions' joint bounds.
    """
    a, b = region_bounds(first), region_bounds(second)
    left, top = min(a[0], b[0]), min(a[1], b[1])
    right, bottom = max(a[2], b[2]), max(a[3], b[3])
    if left >= right or top >= bottom:
        return 1.0  # both regions empty: identical by definition
    if image_size is not None:
        left, top = max(0, left), max(0, top)
        right, bottom = min(image_size[0] - 1, right), min(image_size[1] - 1, bottom)
        if left >= right or top >= bottom:
            return 0.0  # not both empty, but nothing of them lies inside the image
    raster_w, raster_h = right - left + 1, bottom - top + 1
    raster_a = rasterize(_shift(first, -left, -top), raster_w, raster_h)
    raster_b = rasterize(_shift(second, -left, -top), raster_w, raster_h)
    union = np.count_nonzero(raster_a | raster_b)
    if union == 0:
        return 0.0
    return float(np.count_nonzero(raster_a & raster_b)) / float(union)


def _shift(region: Region, dx: int, dy: int) -> Region:
    """Translate by whole pixels, rounding first (half-to-even rounding is not shift-invariant)."""
    if isinstance(region, Rectangle):
        x, y, w, h = _rounded_rectangle(region)
        return Rectangle(x + dx, y + dy, w, h)
    if isinstance(region, Polygon):
        return Polygon(np.round(region.points) + np.array([dx, dy], dtype=np.float64))
    if isinstance(region, Mask):
        return Mask(region.mask, (region.offset[0] + dx, region.offset[1] + dy))
    return region


def region_overlaps(predicted: list[Region], groundtruth: list[Region],
                    image_size: tuple[int, int] | None = None) -> np.ndarray:
    """``region_overlap`` frame by frame; the two lists must have the same length."""
    if len(predicted) != len(groundtruth):
        raise ValueError(f"{len(predicted)} predicted regions for {len(groundtruth)} ground-truth regions")
    pairs = zip(predicted, groundtruth, strict=True)
    return np.array([region_overlap(p, g, image_size) for p, g in pairs], dtype=np.float64)


def region_to_box(region: Region) -> np.ndarray:
    """Axis-aligned ``x, y, w, h`` around a region (NaN for markers and empty masks)."""
    if isinstance(region, Rectangle):
        return np.array([region.x, region.y, region.w, region.h], dtype=np.float64)
    if isinstance(region, Polygon):
        low, high = region.points.min(axis=0), region.points.max(axis=0)
        return np.array([low[0], low[1], high[0] - low[0], high[1] - low[1]], dtype=np.float64)
    if isinstance(region, Mask):
        bounds = mask_pixel_bounds(region.mask)
        if bounds is None:
            return np.full(4, np.nan)
        left, top, right, bottom = bounds
        return np.array([left + region.offset[0], top + region.offset[1], right - left + 1, bottom - top + 1],
                        dtype=np.float64)
    return np.full(4, np.nan)


# --------------------------------------------------------------------------- boxes

def box_iou(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Continuous IoU of matching rows of two ``[N, 4]`` ``x, y, w, h`` arrays.

    Area is ``w * h`` with no +1 (OTB, LaSOT, GOT-10k and pytracking all use continuous
    boxes). Rows with a NaN, or whose union is empty, give 0. The result is clipped to
    [0, 1]: identical boxes can otherwise come out a rounding error above 1 and then
    pass the strict ``IoU > 1.0`` test of the last success threshold.
    """
    a = np.asarray(first, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(second, dtype=np.float64).reshape(-1, 4)
    if a.shape != b.shape:
        raise ValueError(f"box arrays of shapes {a.shape} and {b.shape} do not match")
    ix = np.maximum(0.0, np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]))
    iy = np.maximum(0.0, np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]))
    intersection = ix * iy
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, intersection / union, 0.0)
    return np.clip(np.nan_to_num(iou, nan=0.0), 0.0, 1.0)


def clip_boxes(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip ``x, y, w, h`` boxes to the image ``[0, width] x [0, height]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1 = np.clip(b[:, 0], 0, width)
    y1 = np.clip(b[:, 1], 0, height)
    x2 = np.clip(b[:, 0] + b[:, 2], 0, width)
    y2 = np.clip(b[:, 1] + b[:, 3], 0, height)
    return np.stack([x1, y1, x2 - x1, y2 - y1], axis=1)
