"""OpenCV contrib trackers behind the ``trackerzoo.Tracker`` protocol.

OpenCV's trackers take BGR frames and integer rectangles and return only a success
flag, so the score is 1.0 while OpenCV reports success and 0.0 when it reports loss;
on loss the last box is kept. Parameters left at ``None`` keep OpenCV's defaults, so
the baselines stay exactly the published OpenCV configurations unless asked otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import cv2
import numpy as np

from trackerzoo import Prediction, Tracker


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


class OpenCVTracker(Tracker):
    """Adapter from an OpenCV ``cv2.Tracker`` to the trackerzoo protocol."""

    params_class: ClassVar[str]
    create_function: ClassVar[str]
    # Our snake_case parameter names where OpenCV's differ.
    opencv_names: ClassVar[dict[str, str]] = {}
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
        self._cv_tracker.init(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), rect)
        self._last_box = tuple(float(v) for v in rect)

    def _track(self, frame: np.ndarray) -> Prediction:
        ok, rect = self._cv_tracker.update(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
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
    opencv_names: ClassVar[dict[str, str]] = {
        "search_window_size": "samplerSearchWinSize",
        "init_positive_radius": "samplerInitInRadius",
        "num_features": "featureSetNumFeatures",
    }
