"""OpenCV contrib trackers behind the ``trackerzoo.Tracker`` protocol.

OpenCV's trackers take BGR frames and integer rectangles and return only a success
flag, so the score is 1.0 while OpenCV reports success and 0.0 when it reports loss,
and ``Prediction.present`` is that flag (issue #22: no calibration is possible for a
binary signal, so the presence confidence is the flag itself); on loss the last box is
kept. OpenCV segfaults, hangs or asserts on some parameters,
boxes and frames; the declared parameter ranges, ``BoxLimits`` and ``fit_rect`` keep
those away from it (the limits were measured on OpenCV 5.0). Parameters left at ``None`` keep OpenCV's defaults, so
the baselines stay exactly the published OpenCV configurations unless asked otherwise.

Determinism and threads: OpenCV's MIL draws its Haar features from the C library's
``rand()`` (process-wide) and copies OpenCV's per-thread ``cv::theRNG()`` into its
sampler, both inside ``init()``; ``update()`` draws from that private copy but trains its
boosted classifier in buffers that are ``static`` in OpenCV (``ClfMilBoost::update``),
shared by every MIL instance of the process. So MIL reseeds both generators from its own
``seed`` parameter immediately before ``init()``, and runs ``init()`` and ``update()``
under one module-level lock: its results depend only on its parameters and the frames,
never on what ran before or runs beside it in another thread. CSRT and KCF draw from
neither generator (their boxes do not change with either one's state; tested), so they
have no seed and no lock.
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import cv2
import numpy as np

from trackerzoo import Prediction, Tracker
from trackerzoo.params import param

# Held by MIL while it seeds the process-wide C ``rand()`` and this thread's ``cv::theRNG()``
# and ``init()`` consumes them, and around ``update()`` (OpenCV's static training buffers).
_MIL_LOCK = threading.Lock()


def _find_c_srand() -> Callable[[int], None] | None:
    """The ``srand`` of the C runtime OpenCV calls ``rand()`` from, or ``None`` if not found."""
    try:
        library = ctypes.cdll.ucrtbase if sys.platform == "win32" else ctypes.CDLL(None)
        function = library.srand
    except (OSError, AttributeError):
        warnings.warn("the C runtime's srand() was not found: MIL's Haar features will depend on what "
                      "ran before it in the process", RuntimeWarning, stacklevel=2)
        return None
    function.argtypes = [ctypes.c_uint]
    function.restype = None
    return function


_C_SRAND = _find_c_srand()


@dataclasses.dataclass
class CsrtParams:
    """A few CSRT knobs (Lukezic et al., CVPR 2017); ``None`` keeps OpenCV's value.

    Ranges: ``number_of_scales`` < 0 segfaults OpenCV 4.x/5.x at ``init``; a
    ``template_size`` of 1 raises inside OpenCV.
    """

    use_hog: bool | None = param(None, help="HOG features (OpenCV default: on)")
    use_color_names: bool | None = param(None, help="colour-names features (OpenCV default: on)")
    use_segmentation: bool | None = param(None, help="colour-histogram spatial reliability map (OpenCV default: on)")
    template_size: float | None = param(None, low=10.0, high=1000.0,
                                        help="side of the area the filter is learnt on, pixels (OpenCV default: 200)")
    number_of_scales: int | None = param(None, low=1, high=100, help="scales searched per frame (OpenCV default: 33)")
    psr_threshold: float | None = param(None, low=0.0, high=1.0,
                                        help="peak-to-sidelobe ratio below which the target is lost (default 0.035)")


@dataclasses.dataclass
class KcfParams:
    """A few KCF knobs (Henriques et al., TPAMI 2015); ``None`` keeps OpenCV's value."""

    detect_thresh: float | None = param(None, low=0.0, high=1.0,
                                        help="response peak below which the target is lost (OpenCV default: 0.5)")
    sigma: float | None = param(None, low=0.0, high=10.0, low_open=True,
                                help="Gaussian kernel bandwidth (OpenCV default: 0.2)")
    interp_factor: float | None = param(None, low=0.0, high=1.0,
                                        help="model update rate per frame (OpenCV default: 0.075)")
    output_sigma_factor: float | None = param(None, low=0.0, high=1.0, low_open=True,
                                              help="regression target bandwidth, fraction of the target side "
                                                   "(OpenCV default: 0.0625)")


@dataclasses.dataclass
class MilParams:
    """A few MIL knobs (Babenko et al., CVPR 2009); ``None`` keeps OpenCV's value.

    Ranges: ``num_features`` of 0 segfaults OpenCV at ``init`` and anything below 250
    (the boosting's fixed feature pool) fails inside it; a radius or window of 0 leaves
    no training sample.
    """

    search_window_size: float | None = param(None, low=3.0, high=500.0,
                                             help="radius searched for the target each frame, pixels (default 25)")
    init_positive_radius: float | None = param(None, low=0.0, high=10.0, low_open=True,
                                               help="radius of the first frame's positive samples, pixels (default 3)")
    num_features: int | None = param(None, low=250, high=5000, help="Haar features in the pool (OpenCV default: 250)")
    seed: int = param(0, low=0, high=2**31 - 1,
                      help="seed of MIL's Haar features and its sampler (srand and cv2.setRNGSeed; module docstring)")


@dataclasses.dataclass(frozen=True)
class BoxLimits:
    """The rectangles an OpenCV tracker accepts, measured on OpenCV 5.0 (tests/test_opencv_robustness.py).

    ``min_side``: smaller sides are grown about the box centre; ``max_aspect``: a box
    thinner than ``long / short`` grows its short side; ``margin``: pixels kept free on
    every side of the frame. A frame must hold a ``min_side`` square plus the margins.
    """

    min_side: int = 1
    max_aspect: float = math.inf
    margin: int = 0

    def check_frame(self, tracker: str, width: int, height: int) -> None:
        """``ValueError`` naming the frame when it cannot hold the smallest accepted box."""
        need = self.min_side + 2 * self.margin
        if width < need or height < need:
            raise ValueError(
                f"{tracker}: frame {width}x{height} (WxH) is too small; it needs at least {need}x{need} pixels "
                f"(boxes of at least {self.min_side} px with {self.margin} px free on every side)"
            )


def _fit_span(start: int, length: int, low: int, high: int) -> tuple[int, int]:
    """Shift ``[start, start + length)`` into ``[low, high)``; ``length`` must fit."""
    start = min(max(start, low), high - length)
    return start, length


def _grow(start: int, length: int, target: int) -> tuple[int, int]:
    """Grow ``[start, start + length)`` to ``target`` about its centre."""
    return start - (target - length) // 2, target


def fit_rect(box: tuple[float, float, float, float], width: int, height: int,
             limits: BoxLimits) -> tuple[int, int, int, int]:
    """The integer ``(x, y, w, h)`` rectangle OpenCV gets for ``box`` in a ``width`` x ``height`` frame.

    Edges are rounded (``x0 = round(x)``, ``x1 = round(x + w)``), so a box that already
    fits keeps the rectangle the plugin always used; then every side is at least
    ``limits.min_side``, the aspect ratio at most ``limits.max_aspect`` (short side
    grown, long side shrunk only where the frame is too small), and the rectangle lies
    inside the frame less ``limits.margin`` on every side, boxes touching the last
    row/column included. Call ``limits.check_frame`` first.
    """
    x, y, w, h = box
    low_x, high_x = limits.margin, width - limits.margin
    low_y, high_y = limits.margin, height - limits.margin
    x0, x1 = min(max(round(x), low_x), high_x), min(max(round(x + w), low_x), high_x)
    y0, y1 = min(max(round(y), low_y), high_y), min(max(round(y + h), low_y), high_y)
    rw, rh = x1 - x0, y1 - y0
    x0, rw = _grow(x0, rw, max(rw, limits.min_side))
    y0, rh = _grow(y0, rh, max(rh, limits.min_side))
    if math.isfinite(limits.max_aspect):
        if rw > rh * limits.max_aspect:
            y0, rh = _grow(y0, rh, min(math.ceil(rw / limits.max_aspect), high_y - low_y))
            if rw > rh * limits.max_aspect:  # the frame is too flat: shorten the long side instead
                x0, rw = _grow(x0, rw, math.floor(rh * limits.max_aspect))
        elif rh > rw * limits.max_aspect:
            x0, rw = _grow(x0, rw, min(math.ceil(rh / limits.max_aspect), high_x - low_x))
            if rh > rw * limits.max_aspect:
                y0, rh = _grow(y0, rh, math.floor(rw * limits.max_aspect))
    x0, rw = _fit_span(x0, rw, low_x, high_x)
    y0, rh = _fit_span(y0, rh, low_y, high_y)
    return x0, y0, rw, rh


class OpenCVTracker(Tracker):
    """Adapter from an OpenCV ``cv2.Tracker`` to the trackerzoo protocol.

    Before OpenCV sees a frame and box, the frame is checked against ``box_limits()``
    (``ValueError`` naming it) and the box becomes an integer rectangle inside the frame
    that OpenCV can start on (``fit_rect``); a box that had to be grown or shrunk
    warns once with both rectangles. OpenCV assertion failures never leave the plugin as
    ``cv2.error``: at ``initialize`` they become a ``ValueError`` naming the box and the
    frame, during tracking a lost frame (score 0, last box kept, the message in
    ``Prediction.extra["opencv_error"]``).
    """

    params_class: ClassVar[str]
    create_function: ClassVar[str]
    # Our snake_case parameter names where OpenCV's differ.
    opencv_names: ClassVar[dict[str, str]] = {}
    # Our parameters that are not OpenCV's.
    own_fields: ClassVar[frozenset[str]] = frozenset()
    supported_devices: ClassVar[tuple[str, ...]] = ("cpu",)

    def __init__(
        self, params: Any = None, *, variant: str | None = None, weights: str | None = "default", device="cpu"
    ):
        if weights not in ("default", None):
            raise ValueError(f"OpenCV trackers have no weights; got weights={weights!r}")
        if str(device) != "cpu":
            raise ValueError(f"OpenCV trackers run on the CPU only; got device={device!r}")
        super().__init__(params, variant=variant, weights=weights, device="cpu")
        self._cv_tracker = None
        self._last_box: tuple[float, float, float, float] | None = None

    def box_limits(self) -> BoxLimits:
        """The rectangles this tracker accepts with its parameters (see ``BoxLimits``)."""
        return BoxLimits()

    def _make_cv_tracker(self):
        cv_params = getattr(cv2, self.params_class)()
        for field in dataclasses.fields(self.params):
            if field.name in self.own_fields:
                continue
            value = getattr(self.params, field.name)
            if value is not None:
                setattr(cv_params, self.opencv_names.get(field.name, field.name), value)
        return getattr(cv2, self.create_function)(cv_params)

    def _initialize(self, frame: np.ndarray, box, mask) -> None:
        height, width = frame.shape[:2]
        name = type(self).__name__
        limits = self.box_limits()
        limits.check_frame(name, width, height)
        rect = fit_rect(box, width, height, limits)
        if rect != fit_rect(box, width, height, BoxLimits()):  # more than rounding and clipping to the frame
            warnings.warn(
                f"{name}: box {tuple(box)} was changed to the rectangle {rect} that OpenCV can track in this "
                f"{width}x{height} frame ({limits})",
                RuntimeWarning,
                stacklevel=3,
            )
        self._cv_tracker = self._make_cv_tracker()
        try:
            self._cv_init(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), rect)
        except cv2.error as exc:
            self._cv_tracker = None
            raise ValueError(
                f"{name}: OpenCV cannot start on box {tuple(box)} (rectangle {rect}) in a {width}x{height} frame: "
                f"{_opencv_reason(exc)}"
            ) from None
        self._last_box = tuple(float(v) for v in rect)

    def _cv_init(self, bgr: np.ndarray, rect: tuple[int, int, int, int]) -> None:
        """OpenCV's ``init()``; a subclass wraps it where OpenCV keeps global state."""
        self._cv_tracker.init(bgr, rect)

    def _cv_update(self, bgr: np.ndarray) -> tuple[bool, tuple[int, int, int, int]]:
        """OpenCV's ``update()``: (success flag, integer rectangle x, y, w, h)."""
        return self._cv_tracker.update(bgr)

    def _track(self, frame: np.ndarray) -> Prediction:
        try:
            ok, rect = self._cv_update(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        except cv2.error as exc:
            return Prediction(box=self._last_box, score=0.0, present=False,
                              extra={"opencv_error": _opencv_reason(exc)})
        if ok:
            self._last_box = tuple(float(v) for v in rect)
        return Prediction(box=self._last_box, score=1.0 if ok else 0.0, present=bool(ok))


def _opencv_reason(exc: Exception) -> str:
    """The assertion text of a ``cv2.error`` without OpenCV's source path."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


class CsrtTracker(OpenCVTracker):
    Params = CsrtParams
    params_class = "TrackerCSRT_Params"
    create_function = "TrackerCSRT_create"

    def box_limits(self) -> BoxLimits:
        # 1-pixel sides fail in cv::resize, and 2-pixel sides on the last row/column;
        # boxes thinner than about 1:37 fail a ROI assertion (500x3 on 640x360).
        return BoxLimits(min_side=3, max_aspect=32.0)


class KcfTracker(OpenCVTracker):
    Params = KcfParams
    params_class = "TrackerKCF_Params"
    create_function = "TrackerKCF_create"


class MilTracker(OpenCVTracker):
    Params = MilParams
    params_class = "TrackerMIL_Params"
    create_function = "TrackerMIL_create"
    own_fields: ClassVar[frozenset[str]] = frozenset({"seed"})
    opencv_names: ClassVar[dict[str, str]] = {
        "search_window_size": "samplerSearchWinSize",
        "init_positive_radius": "samplerInitInRadius",
        "num_features": "featureSetNumFeatures",
    }

    def box_limits(self) -> BoxLimits:
        # Boxes with a side under 5 px hang OpenCV's Haar feature generation (4x4, 2x8,
        # 1xN never return); the first frame's positive and negative samples need the
        # box to move by the positive radius plus 2 px inside the frame (measured for radii
        # up to 10, the declared limit; at 20 the negatives ran out even with a 22 px margin).
        radius = self.params.init_positive_radius
        radius = _MIL_DEFAULT_RADIUS if radius is None else radius
        return BoxLimits(min_side=5, margin=math.ceil(radius) + 2)

    def _cv_init(self, bgr: np.ndarray, rect: tuple[int, int, int, int]) -> None:
        """``init()`` with both of OpenCV's random sources at ``seed``, under the MIL lock."""
        with _MIL_LOCK:
            if _C_SRAND is not None:
                _C_SRAND(self.params.seed)
            cv2.setRNGSeed(self.params.seed)  # cv::theRNG() is per thread: this seeds the caller's
            self._cv_tracker.init(bgr, rect)

    def _cv_update(self, bgr: np.ndarray) -> tuple[bool, tuple[int, int, int, int]]:
        """``update()`` under the MIL lock: OpenCV trains in buffers shared by all instances."""
        with _MIL_LOCK:
            return self._cv_tracker.update(bgr)


_MIL_DEFAULT_RADIUS = 3.0  # cv2.TrackerMIL_Params().samplerInitInRadius
