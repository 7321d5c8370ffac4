"""A trackerzoo tracker as a TraX server, so the VOT toolkit can run it.

The VOT toolkit (``vot evaluate``) starts a tracker as a separate process and talks
to it over the TraX protocol (Čehovin, "TraX: The visual Tracking eXchange Protocol
and Library", Neurocomputing 2017): a handshake in which the tracker says which
region and image formats it takes, then one ``initialize`` request (first frame +
target region) and a ``frame`` request per further frame, each answered with the
tracker's region and optional properties. The protocol itself is spoken by the
``trax`` module of the ``vot-trax`` package (libtrax); this module converts between
its messages and the trackerzoo API:

* the server takes rectangles, polygons and masks (``SERVED_REGIONS``) and image
  file paths of the ``color`` channel, which it decodes to RGB;
* an initial rectangle becomes the box; a mask is rasterised to a full-frame mask
  (box-only trackers then start from its bounding box, as ``Tracker.initialize``
  does); a polygon becomes a full-frame mask for trackers that output masks and its
  axis-aligned bounding box for the others;
* each reply is the tracker's box as a rectangle, or its mask when the tracker made
  one and the report mode is ``"auto"`` (TraX has no way for a client to say which
  region types it reads back, so ``"rectangle"`` forces boxes for box-only clients);
  the tracker's score goes along as the object property ``confidence``;
* a ``frame`` request that carries a region re-initialises the tracker there.

``TraxSession`` holds that logic without importing ``trax``, so it is tested without
the package; ``serve`` is the protocol loop around it.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from trackerzoo import Prediction, Tracker
from trackerzoo.datasets.sequence import read_image_rgb
from trackerzoo.formats.regions import (
    Mask,
    Polygon,
    Rectangle,
    Region,
    mask_pixel_bounds,
    rasterize,
    region_is_empty,
    region_to_box,
    rotated_box_polygon,
)

TRAX_PACKAGE = "vot-trax"
SERVED_REGIONS = ("rectangle", "polygon", "mask")
IMAGE_CHANNEL = "color"
REPORT_MODES = ("auto", "rectangle", "rotated")
CONFIDENCE = "confidence"


def import_trax() -> ModuleType:
    """The ``trax`` module, or a ``ValueError`` naming the pip package that provides it."""
    try:
        return importlib.import_module("trax")
    except ImportError as exc:
        raise ValueError(f"the TraX protocol needs the {TRAX_PACKAGE!r} package (module 'trax'): "
                         f"pip install {TRAX_PACKAGE}") from exc


# --------------------------------------------------------------------------- regions

def initial_target(region: Region, frame_size: tuple[int, int], accepts_mask: bool
                   ) -> tuple[tuple[float, float, float, float] | None, np.ndarray | None]:
    """``(box, mask)`` to pass to ``Tracker.initialize`` for a region given by the client.

    ``frame_size`` is ``(width, height)`` in pixels; exactly one of ``box`` (x, y, w, h)
    and ``mask`` (bool ``(height, width)``) is set. Raises ``ValueError`` for an empty
    region (zero-size box, blank mask) or a special marker, which name no target.
    """
    width, height = frame_size
    if region_is_empty(region):
        raise ValueError(f"the initial region {region!r} is empty: no target to track")
    if isinstance(region, Rectangle):
        return (float(region.x), float(region.y), float(region.w), float(region.h)), None
    if isinstance(region, Polygon) and not accepts_mask:
        box = region_to_box(region)
        return (float(box[0]), float(box[1]), float(box[2]), float(box[3])), None
    if isinstance(region, (Polygon, Mask)):
        mask = rasterize(region, width, height)
        if not mask.any():
            raise ValueError(f"the initial region lies outside the {width}x{height} frame")
        return None, mask
    raise ValueError(f"unsupported initial region {region!r}")


def prediction_region(prediction: Prediction, report: str = "auto") -> Region:
    """The region to report for ``prediction``: its mask (``report="auto"``), its rotated
    box as a polygon (``"rotated"``, where the prediction has a finite one), else its box.

    A mask is sent cropped to its pixel bounds (an empty mask as one blank pixel at the
    origin); a box with a non-finite value is sent as an empty rectangle, which the
    toolkit reads as "target not reported". Raises ``ValueError`` for an unknown
    ``report`` mode.
    """
    if report not in REPORT_MODES:
        raise ValueError(f"unknown report mode {report!r}; expected one of {REPORT_MODES}")
    if report == "auto" and prediction.mask is not None:
        mask = np.asarray(prediction.mask, dtype=bool)
        bounds = mask_pixel_bounds(mask)
        if bounds is None:
            return Mask(np.zeros((1, 1), dtype=bool), (0, 0))
        left, top, right, bottom = bounds
        return Mask(mask[top:bottom + 1, left:right + 1].copy(), (left, top))
    polygon = rotated_box_polygon(prediction.rotated_box) if report == "rotated" else None
    if polygon is not None:
        return polygon
    x, y, w, h = prediction.box
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return Rectangle(0.0, 0.0, 0.0, 0.0)
    return Rectangle(x, y, w, h)


def region_from_trax(region: Any) -> Region:
    """A ``trackerzoo.formats.regions`` region from a ``trax.region`` object.

    Works on anything with the ``trax.region`` interface (``type``; ``bounds()`` for
    rectangles, point iteration for polygons, ``array()``/``offset()`` for masks).
    Raises ``ValueError`` for other region types (TraX "special" regions).
    """
    kind = region.type
    if kind == "rectangle":
        x, y, w, h = region.bounds()
        return Rectangle(float(x), float(y), float(w), float(h))
    if kind == "polygon":
        points = np.array([tuple(point) for point in region], dtype=np.float64).reshape(-1, 2)
        if points.shape[0] < 3:
            raise ValueError(f"a polygon region needs at least 3 points, got {points.shape[0]}")
        return Polygon(points)
    if kind == "mask":
        x, y = region.offset()
        return Mask(np.asarray(region.array()) > 0, (int(x), int(y)))
    raise ValueError(f"unsupported TraX region type {kind!r}; expected one of {SERVED_REGIONS}")


def region_to_trax(region: Region, trax: ModuleType) -> Any:
    """The ``trax.region`` object of a rectangle, polygon or mask (``trax`` is the module); ValueError otherwise."""
    if isinstance(region, Rectangle):
        return trax.Rectangle.create(region.x, region.y, region.w, region.h)
    if isinstance(region, Mask):
        return trax.Mask.create(np.ascontiguousarray(region.mask, dtype=np.uint8), region.offset[0], region.offset[1])
    if isinstance(region, Polygon):
        return trax.Polygon.create([(float(x), float(y)) for x, y in region.points])
    raise ValueError(f"cannot send region {region!r} over TraX")


# --------------------------------------------------------------------------- session

class TraxSession:
    """What the server does with each request, without the protocol.

    ``read_frame`` turns the path the client sends into an RGB ``(H, W, 3)`` uint8
    frame (default: decode the image file). Each handler returns the region to report
    and the confidence that goes with it.
    """

    def __init__(self, tracker: Tracker, *, report: str = "auto",
                 read_frame: Callable[[str], np.ndarray] = read_image_rgb) -> None:
        if report not in REPORT_MODES:
            raise ValueError(f"unknown report mode {report!r}; expected one of {REPORT_MODES}")
        self.tracker = tracker
        self.report = report
        self._read_frame = read_frame

    def initialize(self, image_path: str, region: Region) -> tuple[Region, float]:
        """Start on the frame at ``image_path`` with the client's ``region``; echoes it back."""
        frame = self._read_frame(image_path)
        box, mask = initial_target(region, (frame.shape[1], frame.shape[0]), self.tracker.accepts_mask)
        self.tracker.initialize(frame, box=box, mask=mask)
        return region, 1.0

    def frame(self, image_path: str) -> tuple[Region, float]:
        """Track into the frame at ``image_path``."""
        prediction = self.tracker.track(self._read_frame(image_path))
        return prediction_region(prediction, self.report), prediction.score


def _image_path(request: Any) -> str:
    images = request.image or {}
    image = images.get(IMAGE_CHANNEL)
    if image is None:
        raise ValueError(f"the client sent no {IMAGE_CHANNEL!r} image (channels: {sorted(images)})")
    return os.fspath(Path(image.path()))


def serve(tracker: Tracker, *, report: str = "auto", name: str = "", trax: ModuleType | None = None) -> int:
    """Answer TraX requests on this process's standard streams until the client quits.

    Returns the number of frames served (initialisations included). Protocol errors
    raise ``trax.TraxException``; an error in the tracker ends the session with the
    error as the quit reason and is raised again.
    """
    trax = trax or import_trax()
    session = TraxSession(tracker, report=report)
    served = 0
    with trax.Server(list(SERVED_REGIONS), [trax.Image.PATH], [IMAGE_CHANNEL], tracker_name=name,
                tracker_family="trackerzoo") as server:
        while True:
            request = server.wait()
            if request.type == trax.TraxStatus.QUIT:
                break
            path = _image_path(request)
            if request.type == trax.TraxStatus.INITIALIZE or request.objects:
                if len(request.objects) != 1:
                    raise ValueError(f"one target per session is supported, the client sent {len(request.objects)}")
                region, score = session.initialize(path, region_from_trax(request.objects[0][0]))
            else:
                region, score = session.frame(path)
            server.status([(region_to_trax(region, trax), {CONFIDENCE: score})])
            served += 1
    return served
