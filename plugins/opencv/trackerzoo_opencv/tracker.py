"""OpenCV contrib trackers behind the ``trackerzoo.Tracker`` protocol.

OpenCV's trackers take BGR frames and integer rectangles and return only a success
flag, so the score is 1.0 while OpenCV reports success and 0.0 when it reports loss;
on loss the last box is kept. Parameters left at ``None`` keep OpenCV's defaults, so
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
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import cv2
import numpy as np

from trackerzoo import Prediction, Tracker

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


def check_seed(seed: object) -> int:
    """``seed`` as an int in [0, 2**31 - 1] (what both ``srand`` and ``cv2.setRNGSeed`` accept).

    Raises ``ValueError`` naming the value otherwise (bools and floats included).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**31 - 1:
        raise ValueError(f"seed must be an integer in [0, 2**31 - 1], got {seed!r}")
    return seed


@dataclasses.dataclass
class CsrtParams:
    """A few CSRT knobs (Lukezic et al., CVPR 2017); ``None`` keeps OpenCV's value."""

    use_hog: bool | None = None
    use_color_names: bool | None = None
    use_segmentation: bool | None = None
    template_size: float | None = None
    number_of_scales: int | None = None
    psr_threshold: float | None = None


@dataclasses.dataclass
class KcfParams:
    """A few KCF knobs (Henriques et al., TPAMI 2015); ``None`` keeps OpenCV's value."""

    detect_thresh: float | None = None
    sigma: float | None = None
    interp_factor: float | None = None
    output_sigma_factor: float | None = None


@dataclasses.dataclass
class MilParams:
    """A few MIL knobs (Babenko et al., CVPR 2009); ``None`` keeps OpenCV's value."""

    search_window_size: float | None = None
    init_positive_radius: float | None = None
    num_features: int | None = None
    seed: int = 0  # draws MIL's Haar features and its sampler's generator (module docstring)


class OpenCVTracker(Tracker):
    """Adapter from an OpenCV ``cv2.Tracker`` to the trackerzoo protocol."""

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
        x, y, w, h = box
        # OpenCV wants an integer rectangle inside the image.
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(width, round(x + w)), min(height, round(y + h))
        rect = (x0, y0, max(1, x1 - x0), max(1, y1 - y0))
        self._cv_tracker = self._make_cv_tracker()
        self._cv_init(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), rect)
        self._last_box = tuple(float(v) for v in rect)

    def _cv_init(self, bgr: np.ndarray, rect: tuple[int, int, int, int]) -> None:
        """OpenCV's ``init()``; a subclass wraps it where OpenCV keeps global state."""
        self._cv_tracker.init(bgr, rect)

    def _cv_update(self, bgr: np.ndarray) -> tuple[bool, tuple[int, int, int, int]]:
        """OpenCV's ``update()``: (success flag, integer rectangle x, y, w, h)."""
        return self._cv_tracker.update(bgr)

    def _track(self, frame: np.ndarray) -> Prediction:
        ok, rect = self._cv_update(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        if ok:
            self._last_box = tuple(float(v) for v in rect)
        return Prediction(box=self._last_box, score=1.0 if ok else 0.0)


class CsrtTracker(OpenCVTracker):
    Params = CsrtParams
    params_class = "TrackerCSRT_Params"
    create_function = "TrackerCSRT_create"


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

    def __init__(self, params: Any = None, **options: Any) -> None:
        super().__init__(params, **options)
        check_seed(self.params.seed)

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
